"""``make package-check``: the package installs anywhere and works from the installed copy alone.

Phases (``.ci/run`` runs ``install`` with the network and ``run`` offline, on one work folder):

- ``install WORK``: ``uv build`` (sdist, then the wheel from the sdist) of the checkout into
  ``WORK/dist``; the wheel's contents checked (``wheel_problems``: top-level packages ``ablation``
  and ``hydra_plugins`` only, every config and hyperparameter yaml of the checkout inside, the
  ``ablation`` console script); a fresh venv ``WORK/venv`` (``uv venv``) with the wheel installed
  non-editable, every dependency pinned by ``[tool.uv] constraint-dependencies`` (``-c``).
- ``run WORK``: in the empty folder ``WORK/empty``, PYTHONPATH unset, the caches upstream and the
  libraries fill empty folders under ``WORK/fresh`` unless already set: ``ablation`` imports from
  the venv's site-packages, ``ablation --help`` and each of the five commands' ``--help``,
  ``python -m ablation.run --help``, ``ablation plan`` of a user's own module and config folder
  (``user_folder``: ``ABLATION_PLUGINS``, ``--config-dir``), then ``ablation run attention=se placement=neck
  experiment=demo`` (two configs trained), ``ablation export`` (the CSV has both, with numbers),
  ``ablation report`` and ``ablation track``.
- ``all`` (the default): both, in a temporary folder deleted at the end (also on failure).

Every failure exits non-zero with what failed; each check prints one ``[package-check]`` line.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UV = os.environ.get("UV") or shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
TOP_LEVEL = {"ablation", "hydra_plugins"}
COMMANDS = ("run", "plan", "export", "report", "track")
DEMO = ["attention=se", "placement=neck", "experiment=demo"]
# the caches upstream or a library fills: empty folders, as on a fresh machine (as in .ci/run)
FRESH = ("YOLOV5_CONFIG_DIR", "YOLO_CONFIG_DIR", "MPLCONFIGDIR", "TORCH_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")


# A user's own module and config folder, outside the package (docs/modules.md#your-own-attention-module)
USER_MODULE = '''"""A user's attention module, outside the package: ABLATION_PLUGINS=mylab_attention."""
import torch
from torch import nn

from ablation.attention import ATTENTION


@ATTENTION.register("mine", paper="a user's module")
class Mine(nn.Module):
    def __init__(self, channels: int, scale: float = 1.0) -> None:
        super().__init__()
        self.gate = nn.Conv2d(channels, channels, 1)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.gate(x)) * self.scale
'''
USER_CONF = {
    "attention/mine.yaml": "name: mine\nkwargs:\n  scale: 0.5\n",
    "experiment/mine.yaml": "# @package _global_\ndefaults:\n  - override /model: yolov5n\n\ntrain:\n  epochs: 2\n  imgsz: 64\n",
}


class CheckFailed(Exception):
    """One check failed: the message says which and why."""


def say(text: str) -> None:
    print(f"[package-check] {text}", flush=True)


def package_data(root: Path) -> list[str]:
    """The yamls the wheel must hold: every config and hyperparameter file of the checkout."""
    files = [*(root / "ablation" / "conf").rglob("*.yaml"), *(root / "ablation" / "engines").rglob("hyps/*.yaml")]
    return sorted(p.relative_to(root).as_posix() for p in files)


def wheel_problems(wheel: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with the wheel's contents (empty: nothing): top-level names, package data, entry point."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        entry_points = "".join(
            zf.read(f"{d}/entry_points.txt").decode() for d in dist_info if f"{d}/entry_points.txt" in names
        )
    problems = []
    top = {n.split("/")[0] for n in names} - dist_info
    if top != TOP_LEVEL:
        problems.append(f"top-level names are {sorted(top)}, not {sorted(TOP_LEVEL)}")
    missing = sorted(set(package_data(root)) - set(names))
    if missing:
        problems.append(f"{len(missing)} yamls of the checkout are missing, e.g. {missing[:3]}")
    if "ablation = ablation.__main__:main" not in entry_points:
        problems.append(f"no console script 'ablation = ablation.__main__:main' in entry_points.txt: {entry_points!r}")
    return problems


def sh(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, expect: int = 0) -> str:
    """Run ``cmd``; its output (stdout and stderr) if it exits ``expect``, else ``CheckFailed`` with its tail."""
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != expect:
        raise CheckFailed(f"`{' '.join(cmd)}` exited {done.returncode} (expected {expect}):\n{done.stdout[-4000:]}")
    return done.stdout


def constraints(root: Path, path: Path) -> Path:
    """The exact pins (``[tool.uv] constraint-dependencies``) as a constraints file for ``uv pip install -c``."""
    pins = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["uv"]["constraint-dependencies"]
    path.write_text("".join(f"{pin}\n" for pin in pins))
    return path


def install(work: Path, root: Path = ROOT) -> None:
    work.mkdir(parents=True, exist_ok=True)
    dist = work / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    start = time.monotonic()
    sh([UV, "build", "--quiet", "--out-dir", str(dist), str(root)])
    wheels = sorted(dist.glob("ablation-*.whl"))
    if len(wheels) != 1 or not list(dist.glob("ablation-*.tar.gz")):
        raise CheckFailed(f"uv build wrote {sorted(p.name for p in dist.iterdir())}, not one sdist and one wheel")
    say(f"built {wheels[0].name} (from the sdist) in {time.monotonic() - start:.0f} s")
    problems = wheel_problems(wheels[0], root)
    if problems:
        raise CheckFailed("the wheel is wrong: " + "; ".join(problems))
    say(f"wheel: top level {sorted(TOP_LEVEL)} only, {len(package_data(root))} config/hyp yamls, console script")
    venv = work / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    env = {**os.environ, "UV_LINK_MODE": "hardlink"}
    env.pop("VIRTUAL_ENV", None)
    start = time.monotonic()
    sh([UV, "venv", "--quiet", "--python", ">=3.11,<3.13", str(venv)], env=env)
    pins = constraints(root, work / "constraints.txt")
    sh(
        [UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "-c", str(pins), str(wheels[0])],
        env=env,
    )
    say(
        f"installed the wheel (not editable) into a fresh venv, every pin from pyproject.toml, in {time.monotonic() - start:.0f} s"
    )


def user_folder(folder: Path, via: str = "searchpath") -> tuple[list[str], dict[str, str]]:
    """Write a user's module (``mylab_attention.py``) and config folder (``conf/``) into ``folder``:
    the arguments (``via`` Hydra's ``hydra.searchpath`` or ``--config-dir``) and environment that plug them in."""
    (folder / "mylab_attention.py").write_text(USER_MODULE)
    for name, text in USER_CONF.items():
        (folder / "conf" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "conf" / name).write_text(text)
    conf = f"hydra.searchpath=[file://{folder / 'conf'}]" if via == "searchpath" else f"--config-dir={folder / 'conf'}"
    return [conf, "experiment=mine", "attention=mine"], {
        "ABLATION_PLUGINS": "mylab_attention",
        "PYTHONPATH": str(folder),
    }


def plan_user_folder(command: list[str], folder: Path, env: dict[str, str], via: str = "searchpath") -> str:
    """``ablation plan`` (in ``folder``) of the user's attention and experiment: the planned entry's summary."""
    args, extra = user_folder(folder, via)
    args += [f"out={folder / 'plans'}", "data.train=16", "data.val=8", "preflight.enabled=false"]
    sh([*command, "plan", *args], cwd=folder, env={**env, **extra})
    with (folder / "plans" / "plan.csv").open() as f:
        rows = {r["name"]: r for r in csv.DictReader(f)}
    entry = rows.get("yolov5n-mine-neck")  # yolov5n: experiment=mine (the default model is yolov5s)
    if entry is None or entry["error"] or "Mine" not in (folder / "plans" / entry["yaml"]).read_text():
        raise CheckFailed(f"the user's module 'mine' (experiment=mine, {via}) was not planned: {rows}")
    if int(entry["params"]) <= int(rows["yolov5n-none"]["params"]):
        raise CheckFailed(f"the user's module added no parameters: {rows}")
    return f"{entry['name']} ({entry['params']} parameters, {via})"


def run_env(work: Path) -> dict[str, str]:
    """The user's shell: the venv's bin first, nothing of the checkout importable, fresh caches."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "ABLATION_PLUGINS")
    }
    env["PATH"] = f"{work / 'venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    for name in FRESH:
        env.setdefault(name, str(work / "fresh" / name.lower()))
        Path(env[name]).mkdir(parents=True, exist_ok=True)
    return env


def check_csv(path: Path) -> str:
    """The exported table: the baseline and se/neck, each with a number for the metric."""
    if not path.is_file():
        raise CheckFailed(f"ablation export wrote no {path}")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    configs = sorted((r.get("attention", "?"), r.get("placement", "?")) for r in rows)
    if len(rows) != 2 or {a for a, _ in configs} != {"none", "se"} or ("se", "neck") not in configs:
        raise CheckFailed(f"{path} holds {configs}, not the baseline and se/neck")
    metric = next((k for k in rows[0] if k.startswith("mAP50-95")), None)
    try:
        values = [float(r[metric]) for r in rows] if metric else []
    except ValueError:
        values = []
    if not values:
        raise CheckFailed(f"{path} has no mAP50-95 numbers: {rows}")
    return f"{configs}, {metric} = {values}"


def run(work: Path, extra: list[str]) -> None:
    venv, empty = (work / "venv").resolve(), work / "empty"
    python, ablation = str(venv / "bin" / "python"), str(venv / "bin" / "ablation")
    shutil.rmtree(empty, ignore_errors=True)
    empty.mkdir()
    env = run_env(work)
    located = sh(
        [
            python,
            "-c",
            "import ablation, hydra_plugins.ablation_sweeper as s; print(ablation.__file__); print(s.__file__)",
        ],
        cwd=empty,
        env=env,
    )
    site = sh([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=empty, env=env).strip()
    for line in located.split():
        if not Path(line).resolve().is_relative_to(Path(site).resolve()):
            raise CheckFailed(f"{line} is not in the venv's site-packages {site}: the checkout leaks in")
    say(f"ablation and hydra_plugins import from {site}, cwd {empty} (empty), PYTHONPATH unset")
    if "commands:" not in sh([ablation, "--help"], cwd=empty, env=env):
        raise CheckFailed("`ablation --help` does not list the commands")
    for name in COMMANDS:
        if not sh([ablation, name, "--help"], cwd=empty, env=env).strip():
            raise CheckFailed(f"`ablation {name} --help` printed nothing")
    sh([python, "-m", "ablation.run", "--help"], cwd=empty, env=env)
    say(f"`ablation --help`, `ablation {{{','.join(COMMANDS)}}} --help` and `python -m ablation.run --help` answer")
    user = work / "user"
    shutil.rmtree(user, ignore_errors=True)
    user.mkdir()
    planned = plan_user_folder([ablation], user, env, via="config-dir")
    say(f"a user's config folder and ABLATION_PLUGINS module plug in: `ablation plan` planned {planned}")
    start = time.monotonic()
    sh([ablation, "run", *DEMO, *extra], cwd=empty, env=env)
    say(f"`ablation run {' '.join(DEMO + extra)}` trained in {time.monotonic() - start:.0f} s")
    sh([ablation, "export"], cwd=empty, env=env)
    say(f"`ablation export` wrote results/ablation.csv: {check_csv(empty / 'results' / 'ablation.csv')}")
    sh([ablation, "report"], cwd=empty, env=env)
    if not (empty / "results" / "report.html").is_file():
        raise CheckFailed("ablation report wrote no results/report.html")
    say("`ablation report` wrote results/report.html")
    if "mlflow" not in sh([ablation, "track"], cwd=empty, env=env):
        raise CheckFailed("`ablation track` does not name the mlflow ui command")
    say("`ablation track` names the dashboard")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", nargs="?", default="all", choices=["all", "install", "run"])
    parser.add_argument("work", nargs="?", type=Path, help="the work folder (install, run); all: a temporary one")
    parser.add_argument("--override", action="append", default=[], help="an extra override of the demo run")
    args = parser.parse_args()
    if args.phase != "all" and args.work is None:
        parser.error(f"{args.phase} needs the work folder")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally below still cleans up
    start = time.monotonic()
    work = args.work or Path(tempfile.mkdtemp(prefix="package-check-"))
    try:
        if args.phase in ("all", "install"):
            install(work.resolve())
        if args.phase in ("all", "run"):
            run(work.resolve(), args.override)
    except CheckFailed as err:
        print(f"[package-check] FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        if args.phase == "all":
            shutil.rmtree(work, ignore_errors=True)
    say(f"{args.phase}: every check passed in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
