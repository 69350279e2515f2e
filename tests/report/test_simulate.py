"""The simulation that keeps the verdicts honest: simulated grids through a real MLflow store and
``ablation.export``; small grids here, the full-size run (the table in docs/statistics.md) as a slow test and
``scripts/simulate_verdicts.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ablation.report import simulate
from ablation.report.adaptive import Design

ROOT = Path(__file__).resolve().parents[2]


def test_grids_written_to_mlflow_read_back_through_export_as_simulated(store_uri: str, tmp_path: Path) -> None:
    scenario = simulate.Scenario(configs=6, seeds=3, effects=2, effect=8.0)
    runs = simulate.simulate_runs(scenario, np.random.default_rng(5))
    seconds = simulate.log_grid(store_uri, "simulated-grid", runs)
    assert seconds > 0
    exported = simulate.export_configs(store_uri, "simulated-grid", str(tmp_path / "sim.csv")).set_index("group_hash")
    memory = simulate.in_memory(runs)(set(runs["config_hash"])).set_index("group_hash")
    fast = simulate.in_memory_fast(runs)(set(runs["config_hash"])).set_index("group_hash").reindex(exported.index)
    assert len(exported) == 7 and (exported["n"] == 3).all()
    for column in ("p_value", "p_adjusted", "family_lo", "family_hi", "min_detectable_delta", "delta_mAP50-95"):
        assert exported[column].to_numpy(dtype=float) == pytest.approx(
            memory.reindex(exported.index)[column].to_numpy(dtype=float), nan_ok=True
        )
        configs = exported.index != simulate.BASELINE  # the fast path leaves the baseline's Δ (0) out
        assert exported.loc[configs, column].to_numpy(dtype=float) == pytest.approx(
            fast.loc[configs, column].to_numpy(dtype=float), nan_ok=True
        )
    assert (exported["verdict"] == fast["verdict"]).all()
    assert exported.loc["c000", "verdict"] == exported.loc["c001", "verdict"] == "better"


def test_the_correction_keeps_null_grids_clean_where_per_comparison_verdicts_do_not() -> None:
    null = simulate.Scenario(configs=30, seeds=3)
    holm = simulate.run_grids(null, 40, 3, "holm", seed=1)
    none = simulate.run_grids(null, 40, 3, "none", seed=1)
    assert holm.grids_with_false <= 4  # family-wise 5 %: about 2 of 40
    assert none.grids_with_false >= 25  # 30 comparisons at 5 % each: most grids carry a false verdict


def test_adaptive_seeds_reach_the_fixed_verdicts_with_fewer_runs() -> None:
    scenario = simulate.Scenario(configs=20, seeds=5, effects=3)
    tally = simulate.run_grids(scenario, 6, 5, "holm", Design(start=2, max_seeds=5), seed=2)
    assert np.mean(tally.agree) >= 0.95 and tally.runs <= 0.6 * tally.fixed_runs
    assert tally.power >= 0.8 and tally.adaptive_found >= 0.8 * tally.effects


@pytest.mark.slow
def test_done_when_numbers_at_full_size() -> None:
    """Issue 15's lines: 60 configs, >= 100 grids (in memory: the same functions after the store,
    checked equal to the store path above)."""
    null3 = simulate.run_grids(simulate.Scenario(configs=60, seeds=3), 100, 3, "holm", seed=10)
    assert null3.grids_with_false <= 10
    real = simulate.Scenario(configs=60, seeds=5, effects=5, effect=6.0)
    tally = simulate.run_grids(real, 100, 5, "holm", Design(start=2, max_seeds=5), seed=11)
    assert tally.power >= 0.8 and tally.grids_with_false <= 10
    assert np.mean(tally.agree) >= 0.9 and tally.runs <= 0.6 * tally.fixed_runs
    null5 = simulate.run_grids(
        simulate.Scenario(configs=60, seeds=5), 100, 5, "holm", Design(start=2, max_seeds=5), seed=12
    )
    assert null5.adaptive_grids_with_false <= 10


def test_script_prints_the_table(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "simulate_verdicts.py"),
            "--grids",
            "2",
            "--configs",
            "8",
            "--effects",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| null") or line.startswith("| 1 effects")]
    assert len(rows) == 6 and all(line.count("|") == 11 for line in rows)
