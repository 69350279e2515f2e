"""Verdicts over a whole table: paired t-tests over seeds, corrected for the number of comparisons.

Every config with at least two seeds paired with its baseline is one comparison of the family
(one export, report or sweep summary). Its raw p-value is the two-sided paired t-test of the
per-seed differences Δ against 0; the adjusted p-value follows ``correction``:

- ``holm``: Holm's step-down, family-wise error ≤ alpha (no false better/worse row in 95 % of tables);
- ``bh``: Benjamini-Hochberg, false discovery rate ≤ alpha (5 % of the better/worse rows are wrong, on average);
- ``none``: each comparison at alpha on its own (about alpha·m false verdicts in a grid of m null configs).

The interval shown beside each verdict is the t-interval at the level that comparison was tested
at, so that it excludes 0 exactly when the verdict is better / worse (``interval_levels``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ablation.config.errors import OptionError, as_number, not_one_of

CORRECTIONS = ("holm", "bh", "none")
DEFAULT_CORRECTION, DEFAULT_ALPHA = "holm", 0.05


class CorrectionError(OptionError):
    """An unknown correction or alpha."""


def check(correction: str, alpha: Any) -> None:
    """One sentence naming the fix for a bad ``verdict.correction`` / ``verdict.alpha``."""
    if correction not in CORRECTIONS:
        raise not_one_of("verdict.correction", correction, CORRECTIONS, CorrectionError)
    level = as_number("verdict.alpha", alpha, float, str(DEFAULT_ALPHA), CorrectionError)
    if not 0 < level < 1:
        raise CorrectionError(f"verdict.alpha={alpha} must lie between 0 and 1 (e.g. verdict.alpha={DEFAULT_ALPHA}).")


def paired_t(deltas: Sequence[float]) -> tuple[float, float]:
    """Two-sided paired t-test of Δ = 0: (t, p); NaN for fewer than two finite values. Equal
    non-zero differences (no spread) give t = ±inf and p = 0; all-zero differences give p = 1."""
    from scipy import stats

    d = np.asarray(deltas, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) < 2:
        return (np.nan, np.nan)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0:
        return (0.0, 1.0) if mean == 0 else (float(np.sign(mean) * np.inf), 0.0)
    t = mean / (sd / np.sqrt(len(d)))
    return (float(t), float(2 * stats.t.sf(abs(t), len(d) - 1)))


def adjust(p: Sequence[float], correction: str = DEFAULT_CORRECTION) -> np.ndarray:
    """Adjusted p-values (NaN entries are not part of the family and stay NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = len(tested)
    if m == 0:
        return out
    order = tested[np.argsort(p[tested], kind="stable")]
    ranked = p[order]
    if correction == "holm":
        adjusted = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif correction == "bh":
        adjusted = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    elif correction == "none":
        adjusted = ranked
    else:
        raise not_one_of("verdict.correction", correction, CORRECTIONS, CorrectionError)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def interval_levels(p: Sequence[float], adjusted: Sequence[float], correction: str, alpha: float) -> np.ndarray:
    """Per comparison, the two-sided error level of its interval (confidence = 1 - level):

    - ``holm``: the k-th smallest p-value is tested at alpha/(m-k+1) while every smaller one was
      rejected; a rejected config's interval is at its own step, the others at the step where Holm
      stopped, alpha/(m-R) with R rejections (with R = 0: alpha/m, Bonferroni's simultaneous intervals);
    - ``bh``: Benjamini-Yekutieli's false-coverage intervals, R·alpha/m for every config (alpha/m when R = 0);
    - ``none``: alpha.

    Each interval excludes 0 exactly when the adjusted p-value is at most alpha.
    """
    p, adjusted = np.asarray(p, dtype=float), np.asarray(adjusted, dtype=float)
    levels = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = len(tested)
    if m == 0:
        return levels
    rejected = adjusted[tested] <= alpha
    r = int(rejected.sum())
    if correction == "none":
        levels[tested] = alpha
    elif correction == "bh":
        levels[tested] = max(r, 1) * alpha / m
    else:
        order = tested[np.argsort(p[tested], kind="stable")]
        steps = alpha / (m - np.arange(m))
        levels[order] = np.where(np.arange(m) < r, steps, alpha / (m - r) if r < m else alpha)
    return levels
