"""A grid with a config that cannot train is refused before anything trains (exit 2, one sentence
per bad config, no MLflow run of a config), and nothing a user imports for reporting loads torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.sweep.conftest import ablation, store_uri

FAST_DATA = ["data.train=8", "data.val=4", "data.imgsz=64"]


def test_an_impossible_placement_stops_the_sweep_before_anything_trains(tmp_path: Path) -> None:
    done = ablation(
        "ablation.run",
        "attention=se,simam",
        "placement=neck",
        "placement.scales=[P6]",
        "model=yolov5n",
        *FAST_DATA,
        f"tracking.uri={store_uri(tmp_path)}",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    failed = [line for line in done.stderr.splitlines() if line.startswith("FAILED ")]
    assert failed == [
        f"FAILED yolov5n-{name}-neck-P6: placement neck asks for scale(s) P6 but this model detects at P3, P4, P5; "
        "set placement.scales to a subset of those."
        for name in ("se", "simam")
    ]
    assert "2 of 3 configs cannot train; nothing was trained." in done.stderr
    client = MlflowClient(store_uri(tmp_path))
    experiment = client.get_experiment_by_name("ablation")
    assert experiment is None or client.search_runs([experiment.experiment_id]) == []
    assert not list((tmp_path / "sweep").glob("*/train*"))  # no job folder, no training output


def test_a_bad_override_is_exit_2_with_the_choices(tmp_path: Path) -> None:
    done = ablation("ablation.run", "attention=se,sse", cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: ") and "attention must be one of:" in done.stderr
    assert "Ambiguous value" not in done.stderr


def test_reporting_imports_load_neither_torch_nor_upstream() -> None:
    script = (
        "import sys, ablation, ablation.export, ablation.report, ablation.track\n"
        "import ablation.report.command, ablation.report.export, ablation.report.page, ablation.report.summary\n"
        "print(sorted(m for m in ('torch', 'yolov5', 'numpy.trapz') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
