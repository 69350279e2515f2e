"""A real sweep end to end: MLflow contents, failure isolation, resume, export, bad data."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablation.engines.yolov5 import compat
from ablation.engines.yolov5.train import EPOCH_KEYS
from ablation.engines.yolov5.train import FINAL_KEYS as VALIDATED_AGAIN
from tests.sweep.conftest import TINY, WITH_FAULTY_MODULES, ablation, plain_threads, store_uri

pytestmark = pytest.mark.slow  # trains end to end in subprocesses

FINAL_KEYS = {"mAP50", "mAP50-95", "precision", "recall", "params", "gflops", "train_seconds"}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("sweep")
    args = [
        *TINY,
        "attention=se,crash,killed",
        "placement=neck",
        *WITH_FAULTY_MODULES,
        f"tracking.uri={store_uri(folder)}",
    ]
    (folder / "tmp").mkdir()
    first = ablation("ablation.run", *args, cwd=folder, env={"TMPDIR": str(folder / "tmp")})
    client = MlflowClient(store_uri(folder))
    experiment = client.get_experiment_by_name("ablation")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    return {"folder": folder, "args": args, "first": first, "client": client, "runs": runs, "experiment": experiment}


def test_failed_configs_do_not_stop_the_sweep(sweep: dict) -> None:
    first, runs = sweep["first"], sweep["runs"]
    assert first.returncode == 1, first.stderr[-3000:]
    status = {name: r.info.status for name, r in runs.items() if not name.startswith("sweep")}
    assert status == {
        "yolov5n-none": "FINISHED",
        "yolov5n-se-neck": "FINISHED",
        "yolov5n-crash-neck": "FAILED",
        "yolov5n-killed-neck": "FAILED",
    }
    failures = [line for line in first.stderr.splitlines() if line.startswith("FAILED ")]
    assert len(failures) == 2
    assert any("yolov5n-crash-neck" in f and "Crash module failed on purpose" in f for f in failures)
    assert any("yolov5n-killed-neck" in f and "SIGKILL" in f for f in failures)


def test_no_training_child_outlives_the_sweep(sweep: dict) -> None:
    # Children are started ahead of their jobs (the last one gets none): all gone, nothing left behind.
    assert not list((sweep["folder"] / "tmp").glob("ablation-worker-*"))
    workers = [p for p in Path("/proc").glob("[0-9]*") if _cmdline(p).count(str(sweep["folder"]))]
    assert not workers


def _cmdline(process: Path) -> str:
    try:
        return (process / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_failed_run_keeps_its_traceback(sweep: dict) -> None:
    client, crash = sweep["client"], sweep["runs"]["yolov5n-crash-neck"]
    path = client.download_artifacts(crash.info.run_id, "error.txt", str(sweep["folder"]))
    text = Path(path).read_text()
    assert "Traceback" in text and "RuntimeError: Crash module failed on purpose" in text
    assert "faulty_attention.py" in text


def test_every_run_is_a_child_of_one_sweep_run(sweep: dict) -> None:
    runs = sweep["runs"]
    parents = [r for name, r in runs.items() if name.startswith("sweep")]
    assert len(parents) == 1 and parents[0].info.status == "FAILED"
    children = [r for name, r in runs.items() if not name.startswith("sweep")]
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}


def test_finished_run_has_params_metrics_and_artifacts(sweep: dict) -> None:
    client, run = sweep["client"], sweep["runs"]["yolov5n-se-neck"]
    params = run.data.params
    assert params["attention"] == "se" and params["placement"] == "neck" and params["model"] == "yolov5n"
    assert params["seed"] == "0" and params["train.epochs"] == "1" and params["train.imgsz"] == "64"
    assert params["data"] == "synthetic" and params["attention.kwargs.reduction"] == "16"
    assert FINAL_KEYS <= set(run.data.metrics)
    assert 0.0 <= run.data.metrics["mAP50"] <= 1.0 and run.data.metrics["params"] > 1_700_000
    for key in EPOCH_KEYS:  # step = epoch; upstream's final validation of best.pt at step = epochs
        history = client.get_metric_history(run.info.run_id, key)
        assert [m.step for m in history] == ([0, 1] if key in VALIDATED_AGAIN else [0]), key
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"yolov5n-se-neck.yaml", "results.csv", "train.log", "model_summary.txt", "weights"} <= artifacts
    assert [a.path for a in client.list_artifacts(run.info.run_id, "weights")] == ["weights/best.pt"]


def test_every_finished_run_has_coco_metrics_latency_and_eval_files(sweep: dict) -> None:
    client = sweep["client"]
    finished = [r for name, r in sweep["runs"].items() if r.info.status == "FINISHED" and not name.startswith("sweep")]
    assert len(finished) == 2
    for run in finished:
        metrics, params = run.data.metrics, run.data.params
        assert "coco_error" not in run.data.tags and "latency_error" not in run.data.tags
        assert {"coco/AP", "coco/AP50", "coco/AP75", "coco/AR100", "latency_ms", "latency_p90_ms"} <= set(metrics)
        assert all(0.0 <= v <= 1.0 for k, v in metrics.items() if k.startswith("coco/"))
        assert 0 < metrics["latency_ms"] <= metrics["latency_p90_ms"]
        assert [m.step for m in client.get_metric_history(run.info.run_id, "coco/AP50")] == [1]  # step = epochs
        assert (
            params["latency_imgsz"] == "64"
            and params["latency_repeats"] == "3"
            and params["latency_precision"] == "fp32"
        )
        assert params["latency_device"] == f"cpu ({params['torch_threads']} threads)"
        eval_files = {a.path for a in client.list_artifacts(run.info.run_id, "eval")}
        assert eval_files == {"eval/instances_val.json", "eval/predictions.json"}


def test_training_child_has_the_threads_of_a_plain_process(sweep: dict) -> None:
    # Upstream's import sets OMP_NUM_THREADS (cpu_count - 1, at most 8) for the whole process; a
    # training child that inherited it would train slower, with other float sums, than upstream.
    for name in ("yolov5n-none", "yolov5n-se-neck"):
        assert sweep["runs"][name].data.params["torch_threads"] == plain_threads(), name


def test_per_epoch_metrics_equal_upstream_results_csv(sweep: dict) -> None:
    client, run = sweep["client"], sweep["runs"]["yolov5n-none"]
    path = client.download_artifacts(run.info.run_id, "results.csv", str(sweep["folder"] / "dl"))
    with open(path) as f:
        row = {k.strip(): float(v) for k, v in next(csv.DictReader(f)).items()}
    logged = {
        k: client.get_metric_history(run.info.run_id, k)[0].value for k in ("train/box_loss", "mAP50", "mAP50-95")
    }
    assert logged["train/box_loss"] == pytest.approx(row["train/box_loss"], abs=1e-5)
    assert logged["mAP50"] == pytest.approx(row["metrics/mAP_0.5"], abs=1e-5)
    assert logged["mAP50-95"] == pytest.approx(row["metrics/mAP_0.5:0.95"], abs=1e-5)


def test_rerun_only_runs_what_is_not_finished_then_export(sweep: dict) -> None:
    folder, client = sweep["folder"], sweep["client"]
    again = ablation("ablation.run", *sweep["args"], cwd=folder)
    assert again.returncode == 1
    assert "2 configs to train, 2 already FINISHED" in again.stdout
    assert "0 finished, 2 already done (skipped), 2 failed" in again.stdout
    runs = client.search_runs([sweep["experiment"].experiment_id])
    names = sorted(r.info.run_name for r in runs if not r.info.run_name.startswith("sweep"))
    assert names == sorted(["yolov5n-none", "yolov5n-se-neck"] + ["yolov5n-crash-neck", "yolov5n-killed-neck"] * 2)

    outputs = Path(again.stdout.split("outputs in ")[-1].splitlines()[0])
    assert (outputs / "results.csv").is_file() and (outputs / "report.html").is_file()
    assert "verdict" in again.stdout and "yolov5n-se-neck" in again.stdout

    out = folder / "export.csv"
    done = ablation("ablation.export", f"tracking.uri={store_uri(folder)}", f"out={out}", "raw=true", cwd=folder)
    assert done.returncode == 0, done.stderr
    with out.open() as f:
        rows = {r["name"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"yolov5n-none", "yolov5n-se-neck", "yolov5n-crash-neck", "yolov5n-killed-neck"}
    base, se = rows["yolov5n-none"], rows["yolov5n-se-neck"]
    assert base["status"] == "FINISHED" and rows["yolov5n-crash-neck"]["status"] == "FAILED"
    assert float(base["delta_mAP50"]) == 0.0
    assert float(se["delta_mAP50-95"]) == pytest.approx(float(se["mAP50-95"]) - float(base["mAP50-95"]), abs=1e-4)
    assert float(se["params"]) > float(base["params"]) and se["epochs"] == "1" and se["imgsz"] == "64"
    assert "yolov5n-se-neck" in done.stdout and "mAP50-95" in done.stdout

    done = ablation(
        "ablation.export", f"tracking.uri={store_uri(folder)}", f"out={out}", cwd=folder
    )  # one row per config
    with out.open() as f:
        verdicts = {r["name"]: r["verdict"] for r in csv.DictReader(f)}
    assert verdicts["yolov5n-none"] == "baseline" and verdicts["yolov5n-crash-neck"] == "failed"
    assert verdicts["yolov5n-se-neck"] in {
        "single seed",
        "better",
        "worse",
        "no evidence",
    }  # image bootstrap when eval/ exists


def test_ctrl_c_is_recorded_and_a_rerun_finishes_the_sweep(tmp_path: Path) -> None:
    args = [*TINY, "attention=se", "placement=neck", "train.epochs=8", f"tracking.uri={store_uri(tmp_path)}"]
    command = [sys.executable, "-m", "ablation.run", *args]
    env = {**compat.launch_environ(), "ABLATION_QUIET": "1"}
    sweep = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 600
    while not any('"metrics"' in e.read_text() for e in tmp_path.glob("runs/*/0/events.jsonl")):  # the baseline trains
        assert sweep.poll() is None and time.monotonic() < deadline, sweep.stderr.read() if sweep.stderr else ""
        time.sleep(0.2)
    os.killpg(sweep.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    _, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, stderr[-3000:]
    # No training child survives. (multiprocessing's resource tracker, left by preflight's pool,
    # exits on its own once its pipe closes: allow the group a few seconds to empty.)
    _wait_until_group_gone(sweep.pid, seconds=30)
    with pytest.raises(ProcessLookupError, match="No such process"):
        os.killpg(sweep.pid, 0)
    client = MlflowClient(store_uri(tmp_path))
    runs = {r.info.run_name: r for r in client.search_runs([client.get_experiment_by_name("ablation").experiment_id])}
    assert {name: r.info.status for name, r in runs.items()} == {
        "yolov5n-none": "KILLED",
        next(n for n in runs if n.startswith("sweep")): "KILLED",
    }
    assert "interrupted" in runs["yolov5n-none"].data.tags["error"]

    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    finished = [
        r
        for r in client.search_runs([client.get_experiment_by_name("ablation").experiment_id])
        if r.info.status == "FINISHED"
    ]
    assert sorted(r.info.run_name for r in finished if not r.info.run_name.startswith("sweep")) == [
        "yolov5n-none",
        "yolov5n-se-neck",
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.path=/nonexistent/data.yaml", "data yaml /nonexistent/data.yaml does not exist"),
        ("attention=sse,simam", "attention must be one of"),
    ],
)
def test_bad_input_is_rejected_before_training(tmp_path: Path, override: str, message: str) -> None:
    done = ablation("ablation.run", *TINY, override, cwd=tmp_path, timeout=300)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith(("error:", "FAILED"))]
    assert errors and all(message in line for line in errors[-1:])
    assert not (tmp_path / "mlflow.db").exists() and not list(tmp_path.glob("runs/*/0"))


def _wait_until_group_gone(pgid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
