"""The same command after a change to SE's computation retrains the SE config and skips the rest,
as a user runs it: a real sweep from a copy of the source tree, trained, then run again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.sweep.conftest import ROOT, TINY, ablation, store_uri

pytestmark = pytest.mark.slow  # trains end to end in subprocesses


def test_a_change_to_se_retrains_the_se_config_only(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for folder in ("ablation", "hydra_plugins"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    args = [
        *TINY,
        "attention=se,simam",
        "placement=neck",
        f"tracking.uri={store_uri(tmp_path)}",
        f"data.root={tmp_path / 'datasets'}",
    ]
    first = ablation("ablation.run", *args, cwd=src, timeout=1800)  # the working directory's copy is the one imported
    assert first.returncode == 0, first.stderr[-3000:]
    assert "3 configs to train, 0 already FINISHED" in first.stdout

    se = src / "ablation" / "attention" / "se.py"
    se.write_text(se.read_text().replace('"""Squeeze-and-Excitation', '"""Squeeze and excitation'))  # docstring only
    again = ablation("ablation.run", *args, cwd=src, timeout=1800)
    assert again.returncode == 0 and "0 configs to train, 3 already FINISHED" in again.stdout, again.stderr[-3000:]

    se.write_text(se.read_text().replace("x.mean((2, 3), keepdim=True)", "x.amax((2, 3), keepdim=True)"))
    changed = ablation("ablation.run", *args, cwd=src, timeout=1800)
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert "1 configs to train, 2 already FINISHED" in changed.stdout

    client = MlflowClient(store_uri(tmp_path))
    runs = [
        r
        for r in client.search_runs([client.get_experiment_by_name("ablation").experiment_id])
        if not r.info.run_name.startswith("sweep")
    ]
    names = sorted(r.info.run_name for r in runs)
    assert names == ["yolov5n-none", "yolov5n-se-neck", "yolov5n-se-neck", "yolov5n-simam-neck"]  # the old SE run stays
    se_runs = [r for r in runs if r.info.run_name == "yolov5n-se-neck"]
    assert len({r.data.tags["code_fingerprint"] for r in se_runs}) == 2
    assert len({r.data.tags["baseline_hash"] for r in se_runs}) == 1  # both pair with the one baseline
