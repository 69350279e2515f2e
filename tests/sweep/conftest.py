"""Run ``python -m ablation.run`` / ``ablation.export`` as a user would, at tiny size."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from ablation.data.synthetic import CLASSES, SyntheticSpec, draw_image
from ablation.engines.yolov5 import compat

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# 1 epoch at 64 px on 16 images: every stage of a real run, in seconds.
TINY = [
    "model=yolov5n",
    "train.epochs=1",
    "train.imgsz=64",
    "train.batch=4",
    "train.workers=0",
    "train.device=cpu",
    "data.train=16",
    "data.val=8",
    "data.imgsz=64",
    "evaluate.latency.imgsz=64",
    "evaluate.latency.warmup=1",
    "evaluate.latency.repeats=3",
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


def plain_threads(imports: str = "") -> str:
    """torch's thread count in a fresh process started as from a shell, after ``imports``."""
    code = f"{imports}\nimport torch; print(torch.get_num_threads())"
    fresh = subprocess.run([sys.executable, "-c", code], env=compat.launch_environ(), capture_output=True, text=True)
    return fresh.stdout.strip()


def store_uri(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


def read_results(path: Path) -> list[dict[str, str]]:
    """Upstream's results.csv, as upstream formats the values (header spaces stripped)."""
    with path.open() as f:
        return [{k.strip(): v.strip() for k, v in row.items()} for row in csv.DictReader(f)]


def trained_results(sweep_dir: Path) -> dict[str, Path]:
    """Each trained job's results.csv, by the name of the planned yaml it trained."""
    runs = {}
    for job in sweep_dir.iterdir():
        if (job / "train" / "results.csv").is_file():
            planned = Path(json.loads((job / "job.json").read_text())["options"]["cfg"])
            runs[planned.stem] = job / "train" / "results.csv"
    return runs


PLAIN_UPSTREAM = """
import json, sys
from pathlib import Path
import cv2
import numpy as np

from ablation.data.synthetic import CLASSES, SyntheticSpec, draw_image
from ablation.engines.yolov5 import compat
compat.install(); compat.provide_fonts()  # offline machine: no font download (no effect on training)
from yolov5 import train
from yolov5.models import yolo
train.run(data=sys.argv[1], cfg=str(Path(yolo.__file__).parent / 'yolov5n.yaml'), weights='', workers=0,
          device='cpu', seed=0, project=sys.argv[2], name='upstream', exist_ok=True, **json.loads(sys.argv[3]))
"""


def plain_upstream(data: Path, out: Path, **options: object) -> Path:
    """Plain ``yolov5.train.run`` on yolov5n in its own process, as a user would; its results.csv."""
    # It needs the checkpoint-safety switch off to reload its own best.pt (torch >= 2.6).
    env = {**compat.launch_environ(), "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    plain = subprocess.run(
        [sys.executable, "-c", PLAIN_UPSTREAM, str(data), str(out), json.dumps(options)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert plain.returncode == 0, plain.stderr[-3000:]
    return out / "upstream" / "results.csv"


def make_foreign_dataset(root: Path, imgsz: int, counts: tuple[int, int], single_class: bool = False) -> Path:
    """A YOLO dataset laid out unlike ours: ``<split>/images``, names as a mapping, ``path:``."""
    rng = np.random.default_rng(123)
    spec = SyntheticSpec(imgsz=imgsz, seed=123)
    for split, count in zip(("train", "valid"), counts):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for i in range(count):
            image, labels = draw_image(rng, spec)
            cv2.imwrite(str(root / split / "images" / f"img_{i}.jpg"), image)
            lines = "".join(f"{0 if single_class else c} {x} {y} {w} {h}\n" for c, x, y, w, h in labels)
            (root / split / "labels" / f"img_{i}.txt").write_text(lines)
    names = "  0: object\n" if single_class else "".join(f"  {i}: {n}\n" for i, n in enumerate(CLASSES))
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: train/images\nval: valid/images\nnames:\n{names}")
    return data
