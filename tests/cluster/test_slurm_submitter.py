"""The submitter of a Slurm sweep killed mid-sweep (a closed terminal, a lost login): the array
keeps running; the same command, run again, waits for the configs its tasks train, trains the
rest, and ends with every config one FINISHED run, none trained twice at once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.cluster.conftest import ROOT, cluster_demo, needs_root
from tests.cluster.test_slurm_requeue import wait_for_run

EPOCHS = 3
SHORT = [f"train.epochs={EPOCHS}", "evaluate.latency.imgsz=64", "evaluate.latency.repeats=3"]


@pytest.mark.slow
def test_a_killed_submitter_loses_nothing_and_its_rerun_trains_nothing_twice(tmp_path: Path) -> None:
    needs_root()
    demo = cluster_demo()
    services = demo.up(tmp_path, database="ablation_submitter_test")
    env = {**os.environ, **demo.SWEEP_ENV}
    try:
        from mlflow.tracking import MlflowClient

        command = demo.sweep_command(services, SHORT)
        first = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        client = MlflowClient(services["uri"])
        wait_for_run(client, epochs=1, timeout=1800)  # a task trains
        os.killpg(first.pid, signal.SIGKILL)  # the submitter and everything in its session; not the array
        first.wait()
        again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3000)
        experiment = client.get_experiment_by_name(demo.EXPERIMENT)
        runs = [r for r in client.search_runs([experiment.experiment_id]) if r.data.tags.get("config_hash")]
        histories = {
            r.info.run_name: sorted(m.step for m in client.get_metric_history(r.info.run_id, "mAP50")) for r in runs
        }
    finally:
        demo.down(services)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "waiting for" in again.stdout  # the configs the first array trains: left to it
    assert sorted(r.info.run_name for r in runs) == ["yolov5n-ema-neck", "yolov5n-none", "yolov5n-simam-neck"]
    assert all(r.info.status == "FINISHED" and "resumed" not in r.data.tags for r in runs)
    assert all(steps == list(range(EPOCHS + 1)) for steps in histories.values()), histories
    summary = re.search(r"\[ablation\] (\d+) finished, (\d+) already done \(skipped\), 0 failed", again.stdout)
    assert summary and int(summary[1]) + int(summary[2]) == 3, again.stdout[-3000:]
