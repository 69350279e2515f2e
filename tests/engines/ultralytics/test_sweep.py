"""``ablation run engine=ultralytics ...`` end to end on the embedded synthetic set: the baseline and
one attention config train through the package's trainer in training children of that engine and
land in MLflow with per-epoch metrics, COCO metrics from the final validation's detections,
params, GFLOPs and latency, paired with their baseline; the package creates no MLflow run of its
own. ``make smoke`` runs it (offline in CI)."""

from __future__ import annotations

import csv

import pytest
from mlflow.tracking import MlflowClient

from ablation.engines.ultralytics.train import EPOCH_KEYS, FINAL_KEYS
from tests.sweep.conftest import ablation, plain_threads, store_uri

pytestmark = pytest.mark.slow  # two trainings of 2 epochs in a real sweep (~2 min on 2 cores)

EPOCHS = 2
ARGS = [
    "experiment=demo_ultralytics",  # engine=ultralytics: yolo11n, 64 px
    "attention=se",
    "placement=neck",
    f"train.epochs={EPOCHS}",
    "train.batch=8",
    "train.device=cpu",
    "data.train=32",
    "data.val=16",
    "evaluate.latency.imgsz=64",
    "evaluate.latency.warmup=1",
    "evaluate.latency.repeats=3",
]
NAMES = {"yolo11n-none", "yolo11n-se-neck"}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("ultralytics-sweep")
    done = ablation("ablation.run", *ARGS, f"tracking.uri={store_uri(folder)}", cwd=folder)
    client = MlflowClient(store_uri(folder))
    runs = {r.info.run_name: r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])}
    return {"folder": folder, "done": done, "client": client, "runs": runs}


def test_the_sweep_trains_both_configs_under_one_parent_run_and_no_other(sweep: dict) -> None:
    done, runs = sweep["done"], sweep["runs"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[ablation] 2 finished, 0 already done (skipped), 0 failed" in done.stdout + done.stderr
    parents = [r for name, r in runs.items() if name.startswith("sweep")]
    assert len(parents) == 1 and set(runs) == NAMES | {parents[0].info.run_name}  # no run of the package's own
    assert all(r.info.status == "FINISHED" for r in runs.values())
    assert {runs[n].data.tags["mlflow.parentRunId"] for n in NAMES} == {parents[0].info.run_id}
    assert "MLflow: " not in done.stdout + done.stderr  # the package's own callback never spoke


def test_each_run_has_per_epoch_metrics_params_costs_coco_and_latency(sweep: dict) -> None:
    client = sweep["client"]
    for name in NAMES:
        run = sweep["runs"][name]
        metrics, params = run.data.metrics, run.data.params
        assert params["model"] == "yolo11n" and params["version.ultralytics"] == "8.4.190", name
        assert params["train.epochs"] == str(EPOCHS) and params["train.imgsz"] == "64"
        for key in EPOCH_KEYS:  # step = epoch; the final validation of best.pt at step = epochs
            steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
            assert steps == (list(range(EPOCHS + 1)) if key in FINAL_KEYS else list(range(EPOCHS))), (name, key)
        assert metrics["params"] > 2_500_000 and metrics["gflops"] > 0
        assert {"coco/AP", "coco/AP50", "coco/AR100", "latency_ms", "latency_p90_ms"} <= set(metrics)
        assert all(0.0 <= v <= 1.0 for k, v in metrics.items() if k.startswith("coco/"))
        assert params["coco_source"] == "upstream final validation", name  # no second pass over the val set
        assert params["latency_imgsz"] == "64" and params["latency_precision"] == "fp32"
        assert "coco_error" not in run.data.tags and "latency_error" not in run.data.tags
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {f"{name}.yaml", "results.csv", "train.log", "weights", "eval"} <= artifacts
    se, base = sweep["runs"]["yolo11n-se-neck"], sweep["runs"]["yolo11n-none"]
    assert se.data.metrics["params"] > base.data.metrics["params"]


def test_the_attention_config_is_paired_with_its_baseline(sweep: dict) -> None:
    se, base = sweep["runs"]["yolo11n-se-neck"], sweep["runs"]["yolo11n-none"]
    assert se.data.tags["baseline_hash"] == base.data.tags["config_hash"]
    [results] = list((sweep["folder"] / "runs").glob("*/results.csv"))
    with results.open() as f:
        verdicts = {row["name"]: row["verdict"] for row in csv.DictReader(f)}
    assert verdicts == {"yolo11n-none": "baseline", "yolo11n-se-neck": "single seed"}


def test_training_children_have_the_threads_of_a_plain_ultralytics_process(sweep: dict) -> None:
    # The package's import sets OMP_NUM_THREADS=1 when it is unset, before torch's (as in a plain
    # ``YOLO().train``); a child that inherited the sweep's variables could differ from that.
    for name in NAMES:
        assert sweep["runs"][name].data.params["torch_threads"] == plain_threads("import ultralytics"), name
