"""`make cluster-demo`'s path, for real: a single-node Slurm, PostgreSQL and `mlflow server` on
this machine, the demo grid through `hydra/launcher=slurm` (shortened to 2 epochs), then what
Slurm's job records and the server hold."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cluster.conftest import ROOT, cluster_demo, needs_root

SHORT = ["train.epochs=2", "evaluate.latency.imgsz=64", "evaluate.latency.repeats=3"]
CONFIGS = ["yolov5n-ema-neck", "yolov5n-none", "yolov5n-simam-neck"]


@pytest.mark.slow
def test_demo_grid_through_slurm_into_the_server(tmp_path: Path) -> None:
    needs_root()
    demo = cluster_demo()
    services = demo.up(tmp_path, database="ablation_cluster_test")
    try:
        sweep = subprocess.run(
            demo.sweep_command(services, SHORT),
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, **demo.SWEEP_ENV},
            timeout=3000,
        )
        assert sweep.returncode == 0, sweep.stderr[-3000:]
        demo.report(services, ("bootstrap.resamples=100",))  # fewer image resamples: time
        result = demo.check(services)
    finally:
        demo.down(services)

    tasks = result["slurm_tasks"]  # Slurm's own records (jobcomp log; sacct where accounting is on)
    assert [(t["state"], t["exit_code"], t["records"]) for t in tasks] == [("COMPLETED", "0:0", 1)] * 3
    configs = {c["name"]: c for c in result["configs"]}
    assert sorted(configs) == CONFIGS
    for config in configs.values():
        assert (config["runs"], config["status"]) == (1, ["FINISHED"])
        assert config["map50_steps"] == [0, 1, 2]  # epochs 0 and 1, then the final validation of best.pt
        assert config["coco/AP"] is not None and config["latency_ms"] > 0
        assert config["artifact_uri"].startswith("mlflow-artifacts:/")  # served by the server
    assert result["best_pt"]["zip"] and result["best_pt"]["bytes"] > 100_000
    assert len(list(Path(services["artifacts"]).rglob("best.pt"))) == 3  # on the server's side
    assert result["csv_rows"] == 3 and result["report"]
    link = f"{services['uri']}/#/experiments/{result['experiment_id']}/runs?workflowType=machine_learning"
    assert f"Dashboard: {link}" in sweep.stdout
