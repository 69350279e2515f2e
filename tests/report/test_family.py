"""Verdicts over the family: paired t-tests, Holm / Benjamini-Hochberg, intervals that agree with the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ablation.report import family
from ablation.report.stats import family_columns
from ablation.report.summary import summarise


def test_paired_t_is_scipys_one_sample_t_test() -> None:
    d = [0.02, 0.025, 0.03, 0.01]
    assert family.paired_t(d) == pytest.approx(tuple(stats.ttest_1samp(d, 0.0)))
    assert np.isnan(family.paired_t([0.1])[1])
    assert family.paired_t([0.01, 0.01]) == (np.inf, 0.0) and family.paired_t([0.0, 0.0]) == (0.0, 1.0)


def test_holm_and_bh_by_hand() -> None:
    p = [0.01, 0.04, 0.03, np.nan, 0.005]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, running max
    assert family.adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, np.nan, 0.02], nan_ok=True)
    # BH: sorted times 4/1, 4/2, 4/3, 4/4, running min from the top
    assert family.adjust(p, "bh") == pytest.approx([0.02, 0.04, 0.04, np.nan, 0.02], nan_ok=True)
    assert family.adjust(p, "none") == pytest.approx(p, nan_ok=True)
    with pytest.raises(family.CorrectionError, match=r"verdict.correction=bonferroni is not one of holm, bh, none"):
        family.check("bonferroni", 0.05)
    with pytest.raises(family.CorrectionError, match=r"verdict.alpha=5 must lie between 0 and 1"):
        family.check("holm", 5)


def random_family(rng: np.random.Generator, m: int, n: int) -> pd.DataFrame:
    effects = rng.choice([0.0, 0.0, 1.0, -2.5, 4.0], m)
    deltas = effects[:, None] + rng.standard_normal((m, n))
    p = [family.paired_t(d)[1] for d in deltas]
    return pd.DataFrame(
        {
            "pairs": n,
            "delta_mAP50-95": deltas.mean(1),
            "delta_sd": deltas.std(1, ddof=1),
            "p_value": p,
            "verdict": "no evidence",
        }
    )


@pytest.mark.parametrize("correction", family.CORRECTIONS)
def test_the_interval_excludes_zero_exactly_when_the_verdict_is_better_or_worse(correction: str) -> None:
    rng = np.random.default_rng(3)
    decided_any = 0
    for _ in range(40):
        frame = family_columns(
            random_family(rng, int(rng.integers(2, 30)), int(rng.integers(2, 7))), "mAP50-95", correction, 0.05
        )
        excludes = (frame["family_lo"] > 0) | (frame["family_hi"] < 0)
        decided = frame["verdict"].isin(("better", "worse"))
        assert (excludes == decided).all()
        assert ((frame["verdict"] == "better") == decided & (frame["delta_mAP50-95"] > 0)).all()
        assert (frame["family_confidence"] >= 0.95 - 1e-12).all()
        decided_any += int(decided.sum())
    assert decided_any > 20  # the property was checked on many decided rows, not vacuously


def test_holm_intervals_are_bonferronis_when_nothing_is_rejected() -> None:
    frame = family_columns(
        random_family(np.random.default_rng(0), 10, 3).assign(**{"delta_mAP50-95": 0.0, "p_value": 1.0}),
        "mAP50-95",
        "holm",
        0.05,
    )
    assert frame["family_confidence"].to_numpy() == pytest.approx(1 - 0.05 / 10)


def test_the_store_table_carries_raw_and_adjusted_p_values(seeded_store: str) -> None:
    holm = summarise(seeded_store, "synthetic").configs.set_index("name")
    none = summarise(seeded_store, "synthetic", correction="none").configs.set_index("name")
    se = holm.loc["yolov5n-se-neck"]
    assert se["p_value"] == pytest.approx(stats.ttest_1samp([0.020, 0.025, 0.030], 0.0).pvalue)
    tested = holm["p_value"].notna()
    assert tested.sum() == 3  # se, simam, eca: the baseline and the failed config are not comparisons
    assert holm.loc[tested, "p_adjusted"].to_numpy() == pytest.approx(
        family.adjust(holm.loc[tested, "p_value"], "holm")
    )
    assert (none.loc[tested, "p_adjusted"] == none.loc[tested, "p_value"]).all()
    assert se["family_confidence"] == pytest.approx(1 - 0.05 / 3)  # the first of Holm's three steps
    assert (holm["correction"] == "holm").all() and holm["min_detectable_delta"].notna().sum() == 3
