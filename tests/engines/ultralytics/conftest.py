from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def run_script(*args: object, cwd: Path, env: dict[str, str] | None = None, timeout: int = 900) -> dict[str, Any]:
    """``tests/engines/ultralytics/scripts.py`` in a fresh process; its RESULT and its stderr."""
    base = {k: v for k, v in os.environ.items() if k not in ("YOLO_CONFIG_DIR", "OMP_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-m", "tests.engines.ultralytics.scripts", *map(str, args)],
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("RESULT "))
    return {**json.loads(line[len("RESULT ") :]), "stderr": done.stderr + done.stdout}
