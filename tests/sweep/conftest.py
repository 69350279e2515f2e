"""Run ``python -m ablation.run`` / ``ablation.export`` as a user would, at tiny size."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vendor.yolov5 import compat

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# 1 epoch at 64 px on 16 images: every stage of a real run, in seconds.
TINY = [
    "model=yolov5n", "train.epochs=1", "train.imgsz=64", "train.batch=4", "train.workers=0",
    "train.device=cpu", "data.train=16", "data.val=8", "data.imgsz=64",
    "evaluate.latency.imgsz=64", "evaluate.latency.warmup=1", "evaluate.latency.repeats=3",
]
WITH_FAULTY_MODULES = [f"hydra.searchpath=[file://{FIXTURES / 'conf'}]"]


def ablation(
    module: str, *args: str, cwd: Path, timeout: int = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **(env or {}),
        **compat.launch_environ(),  # as from a shell: not this process's upstream-imported variables
        "ABLATION_PLUGINS": "faulty_attention",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(FIXTURES), os.environ.get("PYTHONPATH")])),
        "ABLATION_QUIET": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def store_uri(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"
