"""``train.weights`` in a sweep: a checkpoint of another model stops the sweep before anything
trains; a base checkpoint starts every config from its weights, remapped, and says how many."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.checkpoints import random_base, save_like_upstream
from tests.sweep.conftest import TINY, ablation, store_uri
from tests.sweep.test_fail_fast import FAST_DATA


@pytest.mark.slow  # a whole sweep process; tests/test_plan_weights.py checks the same refusal in process
def test_a_checkpoint_of_another_model_stops_the_sweep_before_anything_trains(tmp_path: Path) -> None:
    other = save_like_upstream(random_base("yolov5s", 3), tmp_path / "yolov5s.pt")
    done = ablation(
        "ablation.run",
        "model=yolov5n",
        "attention=se",
        "placement=before_sppf",
        f"train.weights={other}",
        *FAST_DATA,
        f"tracking.uri={store_uri(tmp_path)}",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    sentence = (
        f"checkpoint {other} does not match model yolov5n (layer 0: model.0.conv.weight is [32, 3, 6, 6] in the "
        "checkpoint, [16, 3, 6, 6] in yolov5n); pass a checkpoint of the base model."
    )
    failed = [line for line in done.stderr.splitlines() if line.startswith("FAILED ")]
    assert failed == [f"FAILED {name}: {sentence}" for name in ("yolov5n-none", "yolov5n-se-before_sppf")]
    client = MlflowClient(store_uri(tmp_path))
    experiment = client.get_experiment_by_name("ablation")
    assert experiment is None or client.search_runs([experiment.experiment_id]) == []
    assert not list((tmp_path / "sweep").glob("*/train*"))


@pytest.mark.slow  # trains two configs end to end
def test_every_config_starts_from_the_remapped_base_weights(tmp_path: Path) -> None:
    base = save_like_upstream(random_base("yolov5n", 3), tmp_path / "yolov5n.pt")
    done = ablation(
        "ablation.run",
        *TINY,
        "attention=se",
        "placement=before_sppf",
        f"train.weights={base}",
        f"tracking.uri={store_uri(tmp_path)}",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(store_uri(tmp_path))
    experiment = client.get_experiment_by_name("ablation")
    runs = {
        r.info.run_name: r for r in client.search_runs([experiment.experiment_id]) if "sweep" not in r.info.run_name
    }
    assert set(runs) == {"yolov5n-none", "yolov5n-se-before_sppf"}
    for run in runs.values():
        # 349 base tensors; the data has 5 classes, the checkpoint 3: Detect's 7 keep the new model's init
        assert run.data.params["weights_transferred"] == f"{349 - 7}/349"
        assert run.data.params["weights"] == str(base)
        assert "weights_not_transferred.txt" in [a.path for a in client.list_artifacts(run.info.run_id)]
    logs = {p.parent.name: p.read_text() for p in (tmp_path / "sweep").glob("*/train.log")}
    # upstream's own count: its intersect_dicts took every remapped tensor, from our start checkpoint
    assert sorted(
        line.split(" items")[0].split("Transferred ")[1]
        for log in logs.values()
        for line in log.splitlines()
        if "Transferred " in line
    ) == ["342/349", "342/353"]
    assert all("weights_start.pt" in log for log in logs.values())
