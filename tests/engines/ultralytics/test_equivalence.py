"""The ultralytics engine adds nothing and changes nothing: a baseline trained through
``ENGINE.train`` equals plain ``YOLO("yolo11n.yaml").train(...)`` with the same data, seed and
settings on CPU, epoch by epoch (results.csv, every column but wall time), offline, and its
MLflow callback creates no runs of its own."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from ablation.data.synthetic import SyntheticSpec, ensure
from tests.engines.ultralytics.conftest import run_script

pytestmark = pytest.mark.slow  # trains twice in subprocesses (~1 min on 2 cores)

EPOCHS, IMGSZ, BATCH = 3, 64, 8  # mAP is still 0 this early; losses and lr carry the signal


def rows(save_dir: str) -> list[dict[str, str]]:
    with (Path(save_dir) / "results.csv").open() as f:
        return [{k.strip(): v.strip() for k, v in row.items() if k.strip() != "time"} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("ultralytics-equivalence")
    data = ensure(folder / "data", SyntheticSpec(train=64, val=16, imgsz=IMGSZ, seed=0))
    store = folder / "mlflow.db"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{store}"}  # where its MLflow callback would log
    ours = run_script("ours", data, folder / "ours", EPOCHS, IMGSZ, BATCH, cwd=folder, env=env)
    plain = run_script("plain", data, folder / "plain", EPOCHS, IMGSZ, BATCH, cwd=folder)
    return {"ours": ours, "plain": plain, "store": store}


def test_baseline_equals_plain_ultralytics_epoch_by_epoch(trained: dict[str, Any]) -> None:
    ours, plain = rows(trained["ours"]["save_dir"]), rows(trained["plain"]["save_dir"])
    assert len(ours) == len(plain) == EPOCHS
    assert ours == plain  # losses, precision, recall, mAP, learning rates as the package writes them


def test_every_epoch_reaches_on_epoch_with_the_packages_values(trained: dict[str, Any]) -> None:
    ours = trained["ours"]
    csv_rows = rows(ours["save_dir"])
    assert [e["epoch"] for e in ours["epochs"]] == list(range(EPOCHS))
    assert [e for e, _ in ours["reported"]] == list(range(EPOCHS - 1))  # the last comes with the result
    for row, values in zip(csv_rows, ours["epochs"]):
        assert float(row["train/box_loss"]) == pytest.approx(values["train/box_loss"], rel=1e-5)
        assert float(row["metrics/mAP50-95(B)"]) == pytest.approx(values["mAP50-95"], abs=1e-5)
        assert float(row["val/dfl_loss"]) == pytest.approx(values["val/dfl_loss"], rel=1e-5)
    assert set(ours["final"]) == {"precision", "recall", "mAP50", "mAP50-95"}
    assert Path(ours["best"]).is_file()
    assert (Path(ours["save_dir"]) / "weights" / "resume.pt").is_file()  # the epoch before the last
    assert ours["notes"]["amp"] == "false" and ours["notes"]["deterministic"] == "warn"


def test_the_coco_metrics_are_computed_on_the_final_validations_detections(trained: dict[str, Any]) -> None:
    """COCO metrics from the detections of the package's own final validation of best.pt, collected
    during training; a second pass of its validator over best.pt finds the same detections."""
    evaluation, second = trained["ours"]["evaluation"], trained["ours"]["second_pass"]
    assert "coco_error" not in evaluation and "latency_error" not in evaluation, evaluation
    assert evaluation["coco_source"] == "upstream final validation" and second["coco_source"] == "val.run of best.pt"
    assert set(evaluation["coco"]) >= {"AP", "AP50"}
    predictions = json.loads(Path(evaluation["eval_files"]["predictions"]).read_text())
    assert predictions and {p["category_id"] for p in predictions} <= set(range(5))
    again = json.loads(Path(second["eval_files"]["predictions"]).read_text())
    key = lambda p: (p["image_id"], p["category_id"], p["score"], p["bbox"])  # noqa: E731
    assert sorted(map(key, predictions)) == sorted(map(key, again))  # rectangular batches as in training
    assert evaluation["coco"] == second["coco"]
    assert evaluation["latency"]["precision"] == "fp32" and evaluation["latency"]["device"].startswith("cpu")


def test_offline_and_no_mlflow_runs_of_its_own(trained: dict[str, Any]) -> None:
    for side in ("ours", "plain"):
        assert "NETWORK" not in trained[side]["stderr"], side
    assert "MLflow" not in trained["ours"]["stderr"]
    assert not trained["store"].exists()  # its callback never opened the tracking store


def test_a_stopped_training_resumes_from_its_resume_checkpoint(tmp_path: Path) -> None:
    """Stopped after epoch 0 was reported, resumed with the package's own resume: epochs 1.. are
    trained once each, in the same folder, and results.csv has one row per epoch."""
    data = ensure(tmp_path / "data", SyntheticSpec(train=64, val=16, imgsz=IMGSZ, seed=0))
    out = run_script("resumed", data, tmp_path / "resumed", EPOCHS, IMGSZ, BATCH, cwd=tmp_path)
    assert [e["epoch"] for e in out["epochs"]] == list(range(1, EPOCHS))
    assert out["reported"] == list(range(EPOCHS - 1))  # epoch 0 before the stop, then 1; the last with the result
    assert [int(r["epoch"]) for r in rows(out["save_dir"])] == list(range(1, EPOCHS + 1))
