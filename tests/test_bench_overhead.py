"""``scripts/bench_overhead.py --fast`` runs (so the cost benchmark cannot rot), and the COCO
detections a run logs are those of a second pass of upstream's ``val.run`` over its best.pt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ablation.engines.yolov5 import compat

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # trains two configs on both sides


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench_overhead.py"),
            "--fast",
            "--work",
            str(work),
            "--json",
            str(work / "bench.json"),
        ],
        cwd=ROOT,
        env=compat.launch_environ(),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "results.csv identical to plain upstream's: yes" in done.stdout
    assert "identical to plain upstream's: NO" not in done.stdout
    return work, json.loads((work / "bench.json").read_text())


def test_fast_benchmark_splits_training_path_and_evaluation(bench: tuple[Path, dict]) -> None:
    _, report = bench
    assert report["configs"] == ["yolov5n-none", "yolov5n-se-neck"]
    (round_,) = report["rounds"]
    assert round_["plain"] > 0 and round_["ours"] > 0 and round_["plain_cpu"] > 0 and round_["ours_cpu"] > 0
    assert round_["identical"] == {"yolov5n-none": True, "yolov5n-se-neck": True}
    assert round_["coco_source"] == {
        "yolov5n-none": "upstream final validation",
        "yolov5n-se-neck": "upstream final validation",
    }
    for seconds in round_["evaluation"].values():  # COCO and each runtime's latency
        assert set(seconds) == {"coco_seconds", "latency_seconds", "latency_ort_seconds", "latency_ov_seconds"}
        assert all(v > 0 for v in seconds.values())
    planning = report["planning"]
    assert report["onnx_check"] == pytest.approx(
        {k: planning["true"][k] - planning["false"][k] for k in ("wall", "cpu")}
    )
    assert report["onnx_check_per_config"]["wall"] == pytest.approx(report["onnx_check"]["wall"] / 2)
    total = sum(sum(v.values()) for v in round_["evaluation"].values())
    assert report["evaluation_per_config"] == pytest.approx(total / 2)
    assert report["training_path_overhead_per_config"] == pytest.approx((round_["ours"] - total - round_["plain"]) / 2)


def test_logged_detections_equal_a_second_pass_of_upstreams_validation(bench: tuple[Path, dict]) -> None:
    """The detections taken from training's final validation are val.run's of best.pt: the same
    images, classes and count, boxes and scores equal up to the rounding of the results
    (3 decimals of a pixel, 5 of a score; float sums can differ in the last digit)."""
    from ablation.data.dataset import describe
    from ablation.engines.yolov5.validate import predict

    work, _ = bench
    for job in (work / "sweep0").iterdir():
        if not (job / "job.json").is_file():
            continue
        options = json.loads((job / "job.json").read_text())["options"]
        instances = json.loads((job / "eval" / "instances_val.json").read_text())
        logged = json.loads((job / "eval" / "predictions.json").read_text())
        dataset = describe(options["data"], bool(options.get("single_cls", False)))
        again = predict(dataset, job / "train" / "weights" / "best.pt", options, instances, job / "again")
        assert logged and len(logged) == len(again)
        pool: dict[tuple[int, int], list[list[float]]] = {}
        for d in again:
            pool.setdefault((d["image_id"], d["category_id"]), []).append([*d["bbox"], d["score"]])
        for d in logged:
            ours = [*d["bbox"], d["score"]]
            candidates = pool.get((d["image_id"], d["category_id"]), [])
            assert candidates, f"no second-pass detection of class {d['category_id']} in image {d['image_id']}"
            nearest = min(candidates, key=lambda c: max(abs(x - y) for x, y in zip(ours, c)))
            assert max(abs(x - y) for x, y in zip(ours, nearest)) <= 2e-3
            candidates.remove(nearest)
