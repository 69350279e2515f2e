"""Power in the open: the noncentral-t power, minimum detectable Δ, seeds needed, the estimate before training."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ablation.report import power
from ablation.report.prior import prior_line
from tests.report.conftest import DELTAS


def test_power_matches_simulated_paired_t_tests() -> None:
    from scipy import stats

    rng = np.random.default_rng(0)
    level = 0.05 / 60
    d = 6.0 + rng.standard_normal((20000, 5))
    t = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(5))
    simulated = np.mean(np.abs(t) > stats.t.isf(level / 2, 4))
    assert power.power(6.0, 1.0, 5, level) == pytest.approx(simulated, abs=0.01)
    assert power.power(6.0, 1.0, 5, level) == pytest.approx(0.927, abs=0.005)  # pitfalls.md: ~0.93 (Bonferroni)


def test_min_detectable_and_seeds_needed_invert_power() -> None:
    level = 0.05 / 60
    mdd = power.min_detectable(0.01, 5, level)
    assert power.power(mdd, 0.01, 5, level) == pytest.approx(0.8, abs=1e-6)
    assert power.min_detectable(0.01, 3, level) > 4 * mdd  # t(2) at alpha/60: almost nothing is detectable
    n = power.seeds_needed(0.005, 0.01, level)
    assert power.power(0.005, 0.01, n, level) >= 0.8 > power.power(0.005, 0.01, n - 1, level)
    assert power.seeds_needed(1e-6, 0.01, level) is None and np.isnan(power.min_detectable(0.01, 1, level))


def test_pooled_spread_weights_by_degrees_of_freedom() -> None:
    sd, df = power.pooled_spread([0.01, 0.02, np.nan], [3, 5, 1])
    assert df == 6 and sd == pytest.approx(np.sqrt((2 * 0.01**2 + 4 * 0.02**2) / 6))


def entries(base_group: str, configs: int, seeds: int) -> list[SimpleNamespace]:
    out = [SimpleNamespace(is_baseline=True, group_hash=base_group, seed=s) for s in range(seeds)]
    return out + [
        SimpleNamespace(is_baseline=False, group_hash=f"new{i}", seed=s) for i in range(configs) for s in range(seeds)
    ]


def test_the_estimate_before_training_uses_earlier_runs_with_the_same_baseline(seeded_store: str, tmp_path) -> None:
    line = prior_line(seeded_store, "synthetic", entries("g-none", 10, 5))
    sds = [np.std(d, ddof=1) for d in DELTAS.values()]
    expected = np.sqrt(np.mean(np.square(sds)))  # three configs, 2 df each
    assert f"spread of mAP50-95 {expected:.4f} (pooled, 6 df)" in line
    level = 0.05 / 10
    assert f"detect Δ mAP50-95 ≥ {power.min_detectable(expected, 5, level):.4f}" in line
    assert power.seeds_needed(0.005, expected, level) is None and "Δ 0.5 points needs more than 200 seeds" in line
    assert f"Δ 1.0 points needs {power.seeds_needed(0.010, expected, level)} seeds" in line
    other = prior_line(seeded_store, "synthetic", entries("another-model", 10, 5))
    assert other.startswith("[ablation] power: no paired seed spread is known yet")
    missing = prior_line(f"sqlite:///{tmp_path / 'none.db'}", "x", entries("g-none", 2, 3))
    assert "no paired seed spread is known yet" in missing and not (tmp_path / "none.db").exists()
