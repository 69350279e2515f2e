"""The framework adds nothing and changes nothing: baseline == plain upstream ``train.run``.

On a YOLO-format dataset laid out unlike ours (``<split>/images``, names as a mapping, absolute
``path``), the baseline's per-epoch losses and metrics equal upstream's, value for value, and an
attention config trains beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.sweep.conftest import (
    ablation,
    make_foreign_dataset,
    plain_upstream,
    read_results,
    store_uri,
    trained_results,
)

pytestmark = pytest.mark.slow  # trains end to end in subprocesses

EPOCHS, IMGSZ, BATCH = 2, 64, 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("equivalence")
    data = make_foreign_dataset(folder / "foreign", imgsz=IMGSZ, counts=(16, 8))
    ours = ablation(
        "ablation.run",
        "model=yolov5n",
        "attention=se",
        "placement=backbone_end",
        f"data.path={data}",
        f"train.epochs={EPOCHS}",
        f"train.imgsz={IMGSZ}",
        f"train.batch={BATCH}",
        "train.workers=0",
        "train.device=cpu",
        f"tracking.uri={store_uri(folder)}",
        "hydra.sweep.dir=sweep",
        "evaluate.latency.imgsz=64",
        "evaluate.latency.warmup=1",
        "evaluate.latency.repeats=3",
        cwd=folder,
    )
    assert ours.returncode == 0, ours.stderr[-3000:]
    runs = trained_results(folder / "sweep")
    runs["upstream"] = plain_upstream(data, folder / "plain", epochs=EPOCHS, imgsz=IMGSZ, batch_size=BATCH)
    return runs


def test_baseline_equals_plain_upstream_epoch_by_epoch(trained: dict[str, Path]) -> None:
    ours, upstream = read_results(trained["yolov5n-none"]), read_results(trained["upstream"])
    assert len(ours) == len(upstream) == EPOCHS
    assert ours == upstream  # every loss, metric and learning rate, as upstream formats them


def test_attention_config_trains_beside_it(trained: dict[str, Path]) -> None:
    rows = read_results(trained["yolov5n-se-backbone_end"])
    assert len(rows) == EPOCHS and all(np.isfinite(float(r["train/box_loss"])) for r in rows)
    assert rows != read_results(trained["yolov5n-none"])
