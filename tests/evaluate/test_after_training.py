"""best.pt after training: COCO metrics and latency in result.json, and what a run logs of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ablation.engines.yolov5 import train as engine
from ablation.evaluate import Settings, evaluate_trained
from ablation.evaluate.coco import STATS
from ablation.evaluate.record import records
from ablation.track.schema import EVAL_DIR
from ablation.train import worker

SMALL = {"coco": True, "latency": {"enabled": True, "imgsz": 64, "warmup": 1, "repeats": 3}}


def job(data: Path, **evaluate: object) -> dict:
    options = {"data": str(data), "imgsz": 64, "batch_size": 2, "workers": 0, "device": "cpu"}
    return {"options": options, "evaluate": {**SMALL, **evaluate}}


def test_worker_writes_coco_metrics_and_latency_into_result_json(
    shapes: Path, best_pt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained = engine.TrainResult(save_dir=best_pt.parents[1], best=best_pt, final={"mAP50": 0.0})
    monkeypatch.setattr(engine, "train_upstream", lambda *args, **kwargs: trained)  # the worker's training
    (tmp_path / "job.json").write_text(json.dumps(job(shapes)))
    assert worker.train(tmp_path / "job.json") == 0, (tmp_path / worker.ERROR).read_text()
    result = json.loads((tmp_path / worker.RESULT).read_text())
    assert result["final"] == {"mAP50": 0.0} and "coco_error" not in result and "latency_error" not in result
    assert result["coco_source"] == "val.run of best.pt"  # training was replaced: no final validation was seen
    assert result["coco_seconds"] > 0 and result["latency_seconds"] > 0
    assert {"AP", "AP50", "AR100"} <= set(result["coco"]) <= set(STATS)
    assert all(0.0 <= v <= 1.0 for v in result["coco"].values())
    assert 0 < result["latency"]["median_ms"] <= result["latency"]["p90_ms"]
    assert (result["latency"]["imgsz"], result["latency"]["repeats"]) == (64, 3)
    for stem in ("latency_ort", "latency_ov"):  # best.pt exported to ONNX, timed in ONNX Runtime and OpenVINO
        deployed = result[stem]
        assert f"{stem}_error" not in result and result[f"{stem}_seconds"] > 0
        assert 0 < deployed["median_ms"] <= deployed["p90_ms"]
        assert (deployed["imgsz"], deployed["warmup"], deployed["repeats"]) == (64, 1, 3)
        assert deployed["device"] == f"cpu ({torch.get_num_threads()} threads)" and deployed["precision"] == "fp32"
    files = {k: Path(v) for k, v in result["eval_files"].items()}
    assert files == {
        "instances": tmp_path / EVAL_DIR / "instances_val.json",
        "predictions": tmp_path / EVAL_DIR / "predictions.json",
    }
    instances, predictions = (json.loads(f.read_text()) for f in files.values())
    assert len(instances["images"]) == 4 and instances["annotations"]
    image_ids = {i["id"] for i in instances["images"]}
    assert predictions and {p["image_id"] for p in predictions} <= image_ids
    assert set(predictions[0]) == {"image_id", "category_id", "bbox", "score"} and len(predictions[0]["bbox"]) == 4


def test_no_checkpoint_is_recorded_per_part_not_raised(shapes: Path, tmp_path: Path) -> None:
    out = evaluate_trained(job(shapes), None, tmp_path)
    sentence = "FileNotFoundError: training left no best.pt to evaluate (None)"
    parts = ("coco", "latency", "latency_ort", "latency_ov")
    timings = {k: out.pop(k) for p in parts for k in (f"{p}_seconds", f"{p}_cpu_seconds")}
    assert all(v >= 0 for v in timings.values())
    assert out == {f"{p}_error": sentence for p in parts}


def test_disabled_parts_are_not_measured(shapes: Path, tmp_path: Path) -> None:
    assert evaluate_trained(job(shapes, coco=False, latency={"enabled": False}), None, tmp_path) == {}


def test_a_bad_evaluate_config_is_recorded_not_raised(shapes: Path, tmp_path: Path) -> None:
    out = evaluate_trained(job(shapes, latency={"imgsz": "big"}), None, tmp_path)
    assert out["latency_error"] == out["coco_error"] and out["coco_error"].endswith(
        ": evaluate.latency.imgsz=big is not a whole number; e.g. evaluate.latency.imgsz=640."
    )


def test_settings_default_when_the_job_has_none() -> None:
    assert Settings.from_config(None) == Settings(
        coco=True,
        latency=True,
        latency_imgsz=640,
        latency_warmup=5,
        latency_repeats=30,
        latency_onnxruntime=True,
        latency_openvino=True,
    )


@pytest.mark.parametrize(
    ("switches", "parts"),
    [
        ({"onnxruntime": False, "openvino": False}, {"latency"}),
        ({"openvino": False}, {"latency", "latency_ort"}),
        ({"onnxruntime": False}, {"latency", "latency_ov"}),
    ],
)
def test_deployed_runtimes_can_be_switched_off(
    shapes: Path, tmp_path: Path, switches: dict[str, bool], parts: set[str]
) -> None:
    out = evaluate_trained(job(shapes, coco=False, latency={**SMALL["latency"], **switches}), None, tmp_path)
    assert set(out) == {f"{p}_{k}" for p in parts for k in ("error", "seconds", "cpu_seconds")}


def test_records_map_result_json_to_mlflow_keys(tmp_path: Path) -> None:
    predictions = tmp_path / "predictions.json"
    predictions.write_text("[]")
    result = {
        "coco": {"AP": 0.25, "AP50": 0.5},
        "latency": {
            "median_ms": 2.0,
            "p90_ms": 3.0,
            "device": "cpu (2 threads)",
            "precision": "fp32",
            "imgsz": 64,
            "warmup": 1,
            "repeats": 3,
        },
        "eval_files": {"predictions": str(predictions), "instances": str(tmp_path / "gone.json")},
        "coco_source": "upstream final validation",
        "latency_ort": {
            "median_ms": 1.0,
            "p90_ms": 1.5,
            "device": "cpu (2 threads)",
            "precision": "fp32",
            "imgsz": 64,
            "warmup": 1,
            "repeats": 3,
        },
        "latency_ov": {
            "median_ms": 0.5,
            "p90_ms": 0.75,
            "device": "cpu (1 threads)",
            "precision": "fp32",
            "imgsz": 64,
            "warmup": 1,
            "repeats": 3,
        },
        "coco_seconds": 1.5,
        "latency_seconds": 4.0,
        "latency_ort_seconds": 2.5,
        "latency_ov_seconds": 3.5,
    }
    logged = records(result)
    assert logged.metrics == {
        "coco/AP": 0.25,
        "coco/AP50": 0.5,
        "latency_ms": 2.0,
        "latency_p90_ms": 3.0,
        "latency_ort_ms": 1.0,
        "latency_ort_p90_ms": 1.5,
        "coco_seconds": 1.5,
        "latency_seconds": 4.0,
        "latency_ort_seconds": 2.5,
        "latency_ov_ms": 0.5,
        "latency_ov_p90_ms": 0.75,
        "latency_ov_seconds": 3.5,
    }
    assert logged.params == {
        "latency_device": "cpu (2 threads)",
        "latency_imgsz": "64",
        "latency_repeats": "3",
        "latency_warmup": "1",
        "latency_precision": "fp32",
        "latency_ort_device": "cpu (2 threads)",
        "latency_ov_device": "cpu (1 threads)",
        "coco_source": "upstream final validation",
    }
    assert logged.tags == {} and logged.artifacts == [predictions] and logged.folder == "eval"
    failed = records({"coco_error": "CocoError: x", "latency_error": ""})
    assert (failed.metrics, failed.params, failed.tags) == ({}, {}, {"coco_error": "CocoError: x"})


@pytest.mark.parametrize(("batch", "expected"), [(8, 16), (-1, 32)])
def test_detections_use_upstreams_final_validation_batch(batch: int, expected: int) -> None:
    from ablation.engines.yolov5.validate import val_batch

    assert val_batch({"batch_size": batch}) == expected


@pytest.mark.parametrize(("val", "iou"), [("/d/coco/val2017.txt", 0.65), ("/d/images/val", 0.60)])
def test_detections_use_upstreams_final_nms_iou(tmp_path: Path, val: str, iou: float) -> None:
    from ablation.engines.yolov5.validate import final_iou

    (tmp_path / "data.yaml").write_text(f"val: {val}\nnames: [a]\n")
    assert final_iou(tmp_path / "data.yaml") == iou
