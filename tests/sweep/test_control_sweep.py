"""``control=width`` end to end: the wider baselines train with the grid's seeds, and the sweep's
table and CSV compare each attention config with the control curve."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.sweep.conftest import TINY, ablation, store_uri


@pytest.mark.slow  # trains six configs end to end
def test_a_control_sweep_trains_the_wider_baselines_and_shows_the_delta_against_them(tmp_path: Path) -> None:
    grid = ("ablation.run", *TINY, "attention=psa", "placement=neck", "control=width", "seed=0,1")
    done = ablation(*grid, f"tracking.uri={store_uri(tmp_path)}", "hydra.sweep.dir=sweep", cwd=tmp_path, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[ablation] control=width yolov5n: median and max of the attention configs' GFLOPs" in done.stdout
    assert "Δ vs control [CI]" in done.stdout and "verdict vs control" in done.stdout
    with (tmp_path / "sweep" / "results.csv").open() as f:
        rows = {r["name"]: r for r in csv.DictReader(f)}
    wider = [name for name in rows if name.startswith("yolov5n-width-x")]
    assert len(wider) == 1 and rows[wider[0]]["n"] == "2" and rows[wider[0]]["control"] == "width"
    psa = rows["yolov5n-psa-neck"]
    assert psa["control_pairs"] == "2" and psa["verdict_control"] in ("better", "worse", "no evidence")
    assert float(psa["delta_control_mAP50-95"]) == pytest.approx(
        float(psa["mAP50-95"]) - float(psa["control_mAP50-95"]), abs=1e-9
    )
    again = ablation(*grid, f"tracking.uri={store_uri(tmp_path)}", "hydra.sweep.dir=sweep2", cwd=tmp_path)
    assert again.returncode == 0 and "0 configs to train, 6 already FINISHED" in again.stdout
