"""Open a report in headless Chromium, save a screenshot, fail on page errors or broken images.

    python scripts/report_screenshot.py results/report.html results/report.png

A copy of the page (beside the original, so relative image paths resolve) gets a probe script
that records ``console.error``, uncaught errors and every image that did not decode; Chromium's
``--dump-dom`` prints the page after load, probe results included. Exit 0: clean; 1: problems
(listed); 3: no Chromium (how to install it is printed).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PROBE = """<script>
(function () {
  var problems = [];
  var error = console.error;
  console.error = function () { problems.push("console.error: " + Array.from(arguments).join(" ")); error.apply(console, arguments); };
  window.addEventListener("error", function (e) {
    problems.push(e.target && e.target.src ? "failed to load " + e.target.src : "error: " + e.message);
  }, true);
  window.addEventListener("load", function () {
    Array.from(document.images).forEach(function (img) {
      if (!img.complete || img.naturalWidth === 0) problems.push("image not shown: " + img.getAttribute("src"));
    });
    var out = document.createElement("pre");
    out.id = "report-probe";
    out.textContent = JSON.stringify({images: document.images.length, problems: problems});
    document.body.appendChild(out);
  });
})();
</script>"""
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--allow-file-access-from-files",
]


def find_browser() -> str | None:
    """The first Chromium-family executable on PATH (or ``$CHROMIUM``)."""
    candidates = [os.environ.get("CHROMIUM", ""), *BROWSERS]
    return next((shutil.which(c) for c in candidates if c and shutil.which(c)), None)


def probe(browser: str, page: Path, timeout: int = 60) -> tuple[int, list[str]]:
    """(images on the page, problems) after Chromium loaded ``page``."""
    source = page.read_text(encoding="utf-8")
    with tempfile.NamedTemporaryFile(
        "w", suffix=".html", dir=page.parent, prefix=".probe-", delete=False, encoding="utf-8"
    ) as f:
        f.write(source.replace("<head>", "<head>" + PROBE, 1) if "<head>" in source else PROBE + source)
    copy = Path(f.name)
    try:
        done = subprocess.run(
            [browser, *FLAGS, "--enable-logging=stderr", "--virtual-time-budget=10000", "--dump-dom", copy.as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        copy.unlink(missing_ok=True)
    found = re.search(r'<pre id="report-probe">(.*?)</pre>', done.stdout, re.S)
    if not found:
        return 0, [f"the page did not finish loading (chromium exit {done.returncode}): {done.stderr.strip()[-500:]}"]
    result = json.loads(html.unescape(found.group(1)))
    problems = list(result["problems"])
    problems += [
        line
        for line in done.stderr.splitlines()
        if "CONSOLE" in line and "ERROR" in line.upper() and ".probe-" not in line
    ]
    return int(result["images"]), problems


def screenshot(browser: str, page: Path, out: Path, width: int = 1280, height: int = 2400, timeout: int = 60) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            browser,
            *FLAGS,
            f"--window-size={width},{height}",
            "--virtual-time-budget=10000",
            f"--screenshot={out.resolve()}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print(
            "no Chromium found; install it: sudo apt-get install -y chromium (Debian/Ubuntu), "
            "or set CHROMIUM=/path/to/chrome",
            file=sys.stderr,
        )
        return 3
    if not args.report.is_file():
        print(f"no such report: {args.report}", file=sys.stderr)
        return 1
    images, problems = probe(browser, args.report.resolve())
    screenshot(browser, args.report, args.out)
    if not args.out.is_file() or args.out.stat().st_size == 0:
        problems.append(f"no screenshot written to {args.out}")
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    print(f"{args.report}: {images} images, {len(problems)} problems; screenshot {args.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
