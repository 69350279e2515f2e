"""`scontrol requeue` of a running array task: the config resumes from its last completed epoch
into the same MLflow run (needs resume inside a config: ablation/job/claim.py)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import ROOT, cluster_demo, needs_root

EPOCHS = 6
BASELINE = ["attention=none", "placement=neck", "experiment=demo"]  # one config
SHORT = [f"train.epochs={EPOCHS}", "evaluate.latency.imgsz=64", "evaluate.latency.repeats=3"]


@pytest.mark.slow
def test_requeued_task_resumes_into_the_same_run(tmp_path: Path) -> None:
    needs_root()
    pytest.importorskip("ablation.job.claim", reason="resume inside a config (issue18-resume) is not merged")
    demo = cluster_demo()
    services = demo.up(tmp_path, database="ablation_requeue_test")
    try:
        from mlflow.tracking import MlflowClient

        sweep = subprocess.Popen(
            demo.sweep_command(services, SHORT, BASELINE),
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **demo.SWEEP_ENV},
        )
        client = MlflowClient(services["uri"])
        run = wait_for_run(client, epochs=2, timeout=1800)
        # one config: submitit sends one job (<id>), not an array (<array>_<index>)
        task = next(p.name for p in (tmp_path / "runs" / ".submitit").iterdir() if p.name[:1].isdigit())
        subprocess.run(["scontrol", "requeue", task], check=True)
        requeued_at = time.monotonic()
        output, _ = sweep.communicate(timeout=3000)
        assert sweep.returncode == 0, output[-3000:]
        tasks = demo.slurm_tasks(tmp_path / "runs")
        final = client.get_run(run.info.run_id)
        runs = [r for r in client.search_runs([run.info.experiment_id]) if r.data.tags.get("config_hash")]
        steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "mAP50"))
    finally:
        demo.down(services)
    assert len(runs) == 1 and final.info.status == "FINISHED"  # one run, the same one
    assert steps == list(range(EPOCHS + 1))  # every epoch once, then the final validation of best.pt
    resumed_at = int(final.data.tags["resumed_at_epochs"].split(",")[0])
    # The requeued task trained EPOCHS - resumed_at epochs, a restart from 0 would have trained EPOCHS:
    # at least the 2 epochs logged before the requeue were not trained again.
    assert final.data.tags["resumed"] == "1" and resumed_at >= 2
    assert [(t["state"], t["exit_code"]) for t in tasks] == [("COMPLETED", "0:0")] and tasks[0]["records"] >= 2
    print(f"requeued at epoch {resumed_at}; the sweep ended {time.monotonic() - requeued_at:.0f} s later")


def wait_for_run(client, epochs: int, timeout: float):
    """The config's run once it has logged ``epochs`` epochs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        experiment = client.get_experiment_by_name("cluster-demo")
        if experiment is not None:
            for run in client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'"):
                if (
                    run.data.tags.get("config_hash")
                    and len(client.get_metric_history(run.info.run_id, "mAP50")) >= epochs
                ):
                    return run
        time.sleep(5)
    raise AssertionError(f"no config run logged {epochs} epochs within {timeout} s")
