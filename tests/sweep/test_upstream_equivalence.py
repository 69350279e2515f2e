"""The framework adds nothing and changes nothing: baseline == plain upstream ``train.run``.

On a YOLO-format dataset laid out unlike ours (``<split>/images``, names as a mapping, absolute
``path``), the baseline's per-epoch losses and metrics equal upstream's, value for value, and an
attention config trains beside it.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ablation.data.synthetic import CLASSES, SyntheticSpec, draw_image
from vendor.yolov5 import compat

from .conftest import ablation, store_uri

pytestmark = pytest.mark.slow  # trains end to end in subprocesses

EPOCHS, IMGSZ, BATCH = 2, 64, 4


def make_foreign_dataset(root: Path) -> Path:
    rng = np.random.default_rng(123)
    spec = SyntheticSpec(imgsz=IMGSZ, seed=123)
    for split, count in (("train", 16), ("valid", 8)):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for i in range(count):
            image, labels = draw_image(rng, spec)
            cv2.imwrite(str(root / split / "images" / f"img_{i}.jpg"), image)
            (root / split / "labels" / f"img_{i}.txt").write_text("".join(f"{c} {x} {y} {w} {h}\n" for c, x, y, w, h in labels))
    names = "".join(f"  {i}: {n}\n" for i, n in enumerate(CLASSES))
    data = root / "foreign.yaml"
    data.write_text(f"path: {root}\ntrain: train/images\nval: valid/images\nnames:\n{names}")
    return data


def read_results(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return [{k.strip(): v.strip() for k, v in row.items()} for row in csv.DictReader(f)]


UPSTREAM = """
import sys
from vendor.yolov5 import compat
compat.install(); compat.provide_fonts()  # offline machine: no font download (no effect on training)
from yolov5 import train
from yolov5.models import yolo
train.run(data=sys.argv[1], cfg=str(__import__('pathlib').Path(yolo.__file__).parent / 'yolov5n.yaml'),
          weights='', epochs={epochs}, imgsz={imgsz}, batch_size={batch}, workers=0, device='cpu', seed=0,
          project=sys.argv[2], name='upstream', exist_ok=True)
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("equivalence")
    data = make_foreign_dataset(folder / "foreign")
    ours = ablation(
        "ablation.run", "model=yolov5n", "attention=se", "placement=backbone_end", f"data.path={data}",
        f"train.epochs={EPOCHS}", f"train.imgsz={IMGSZ}", f"train.batch={BATCH}", "train.workers=0",
        "train.device=cpu", f"tracking.uri={store_uri(folder)}", "hydra.sweep.dir=sweep",
        "evaluate.latency.imgsz=64", "evaluate.latency.warmup=1", "evaluate.latency.repeats=3", cwd=folder,
    )
    assert ours.returncode == 0, ours.stderr[-3000:]
    # Plain upstream needs the checkpoint-safety switch off to reload its own best.pt (torch >= 2.6).
    env = {**compat.launch_environ(), "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    script = UPSTREAM.format(epochs=EPOCHS, imgsz=IMGSZ, batch=BATCH)
    plain = subprocess.run(
        [sys.executable, "-c", script, str(data), str(folder / "plain")],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=900,
    )
    assert plain.returncode == 0, plain.stderr[-3000:]
    runs = {}
    for job in (folder / "sweep").iterdir():
        if (job / "train" / "results.csv").is_file():
            runs[next(job.glob("yolov5n-*.yaml")).stem] = job / "train" / "results.csv"
    runs["upstream"] = folder / "plain" / "upstream" / "results.csv"
    return runs


def test_baseline_equals_plain_upstream_epoch_by_epoch(trained: dict[str, Path]) -> None:
    ours, upstream = read_results(trained["yolov5n-none"]), read_results(trained["upstream"])
    assert len(ours) == len(upstream) == EPOCHS
    assert ours == upstream  # every loss, metric and learning rate, as upstream formats them


def test_attention_config_trains_beside_it(trained: dict[str, Path]) -> None:
    rows = read_results(trained["yolov5n-se-backbone_end"])
    assert len(rows) == EPOCHS and all(np.isfinite(float(r["train/box_loss"])) for r in rows)
    assert rows != read_results(trained["yolov5n-none"])
