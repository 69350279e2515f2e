"""``train.single_cls=true`` on the 5-class synthetic set, end to end: the run's params are
upstream's one-class model's, and coco/AP is pycocotools' on a one-class ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from tests.sweep.conftest import TINY, ablation, store_uri

pytestmark = pytest.mark.slow  # trains end to end in a subprocess


def one_class_truth(data_root: Path) -> dict:
    """Every label row of every val image as class 0, built here from the files."""
    truth: dict = {"images": [], "annotations": [], "categories": [{"id": 0, "name": "item"}]}
    for image_id, image in enumerate(sorted((data_root / "images" / "val").glob("*.png")), 1):
        width, height = Image.open(image).size
        truth["images"].append({"id": image_id, "width": width, "height": height})
        for row in (data_root / "labels" / "val" / f"{image.stem}.txt").read_text().splitlines():
            _, x, y, w, h = (float(v) for v in row.split())
            box = [(x - w / 2) * width, (y - h / 2) * height, w * width, h * height]
            truth["annotations"].append(
                {
                    "id": len(truth["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": 0,
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
    return truth


def test_a_single_class_run_of_a_five_class_set(tmp_path: Path) -> None:
    import ablation as package

    package.setup()
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    from yolov5.models.yolo import Model

    from ablation.engines.yolov5.build import quiet_upstream
    from ablation.engines.yolov5.paths import model_yaml

    args = [*TINY, "train.single_cls=true", "evaluate.latency.enabled=false", f"tracking.uri={store_uri(tmp_path)}"]
    done = ablation("ablation.run", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(store_uri(tmp_path))
    (run,) = [
        r
        for r in client.search_runs([client.get_experiment_by_name("ablation").experiment_id])
        if r.data.tags.get("config_hash")
    ]
    assert run.info.status == "FINISHED" and "coco_error" not in run.data.tags
    with quiet_upstream():
        assert run.data.metrics["params"] == sum(
            p.numel() for p in Model(str(model_yaml("yolov5n")), nc=1).parameters()
        )
    folder = Path(client.download_artifacts(run.info.run_id, "eval", str(tmp_path / "artifacts")))
    instances = json.loads((folder / "instances_val.json").read_text())
    assert instances["categories"] == [{"id": 0, "name": "item"}]
    (data_root,) = (tmp_path / "datasets").glob("synthetic-*")
    (tmp_path / "truth.json").write_text(json.dumps(one_class_truth(data_root)))
    truth = COCO(str(tmp_path / "truth.json"))
    predictions = json.loads((folder / "predictions.json").read_text())
    evaluation = COCOeval(truth, truth.loadRes(predictions), "bbox")
    evaluation.evaluate(), evaluation.accumulate(), evaluation.summarize()
    assert run.data.metrics["coco/AP"] == pytest.approx(evaluation.stats[0], abs=1e-4)
    assert run.data.metrics["coco/AP50"] == pytest.approx(evaluation.stats[1], abs=1e-4)
