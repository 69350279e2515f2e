"""``hydra/launcher=parallel``: two configs train at once, both complete in one MLflow store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient

from ablation.config.compose import CONF_DIR
from ablation.engines.yolov5.train import EPOCH_KEYS
from tests.sweep.conftest import TINY, ablation, store_uri


def test_parallel_launcher_config_composes() -> None:
    from ablation.train.devices import register_resolvers

    register_resolvers()  # as the run command's task module does when it loads
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", ["hydra/launcher=parallel"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")
    assert cfg.hydra.launcher.n_jobs == 2  # no GPU here: two CPU jobs


@pytest.mark.slow
def test_two_jobs_in_parallel_into_one_store(tmp_path: Path) -> None:
    done = ablation(
        "ablation.run",
        *TINY,
        "attention=se",
        "placement=neck",
        "hydra/launcher=parallel",
        f"tracking.uri={store_uri(tmp_path)}",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(store_uri(tmp_path))
    experiment = client.get_experiment_by_name("ablation")
    runs = [r for r in client.search_runs([experiment.experiment_id]) if not r.info.run_name.startswith("sweep")]
    assert sorted(r.info.run_name for r in runs) == ["yolov5n-none", "yolov5n-se-neck"]
    for run in runs:
        assert run.info.status == "FINISHED"
        for key in EPOCH_KEYS:
            assert len(client.get_metric_history(run.info.run_id, key)) >= 1, (run.info.run_name, key)
        assert {"mAP50", "mAP50-95", "params", "gflops", "train_seconds", "images_per_second"} <= set(run.data.metrics)
    first, second = sorted(runs, key=lambda r: r.info.start_time)
    assert second.info.start_time < first.info.end_time  # they overlapped
    threads = [json.loads(p.read_text())["threads"] for p in (tmp_path / "sweep").glob("*/job.json")]
    assert threads == [max(1, (os.cpu_count() or 1) // 2)] * 2  # the cores shared by 2 jobs
