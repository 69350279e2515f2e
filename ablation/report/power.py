"""Power in the open: what a grid of this size, with this paired seed spread, can detect.

The paired spread is the standard deviation of the per-seed differences Δ = config − baseline,
pooled over the configs of a table (each config's Δ around its own mean, degrees of freedom
Σ(n−1)): one config's three seeds say little about it, a table's configs together say more.
Detectable means: the two-sided paired t-test over n seeds at the family's threshold rejects
with probability ``POWER`` (noncentral t). The family's threshold is alpha/m for m comparisons
(Bonferroni, the first step of Holm and of Benjamini-Hochberg, so it holds for both), alpha
with ``correction=none``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

POWER = 0.8
POINTS = (0.005, 0.010)  # Δ of 0.5 and 1.0 points of mAP (metrics are fractions)
MAX_SEEDS = 200


def family_level(m: int, correction: str, alpha: float) -> float:
    """The two-sided per-comparison level a comparison must reach when m are tested together."""
    return alpha if correction == "none" else alpha / max(m, 1)


def pooled_spread(sds: Iterable[float], counts: Iterable[int]) -> tuple[float, int]:
    """Pooled standard deviation of paired differences from each config's standard deviation and
    number of pairs, and its degrees of freedom Σ(n−1); (NaN, 0) when no config has two pairs."""
    ss, df = 0.0, 0
    for sd, n in zip(sds, counts):
        if n >= 2 and np.isfinite(sd):
            ss += (int(n) - 1) * float(sd) ** 2
            df += int(n) - 1
    return (float(np.sqrt(ss / df)), df) if df else (np.nan, 0)


def power(delta: float, sd: float, n: int, level: float) -> float:
    """Probability that the two-sided paired t-test over n seeds rejects at ``level`` when the
    true mean difference is ``delta`` and the paired spread ``sd``."""
    from scipy import stats

    if n < 2 or not (sd > 0):
        return np.nan
    df = n - 1
    crit = stats.t.isf(level / 2, df)
    nc = abs(delta) * np.sqrt(n) / sd
    # P(T < -crit) as the upper tail of -T: scipy's nct.cdf gives NaN far in the lower tail
    return float(np.nan_to_num(stats.nct.sf(crit, df, nc)) + np.nan_to_num(stats.nct.sf(crit, df, -nc)))


def min_detectable(sd: float, n: int, level: float, target: float = POWER) -> float:
    """The smallest |Δ| the test over n seeds detects with probability ``target``; NaN for n < 2."""
    from scipy.optimize import brentq

    if n < 2 or not (sd > 0) or not np.isfinite(sd):
        return np.nan
    hi = sd
    while power(hi, sd, n, level) < target:
        hi *= 2
        if hi > 1e9 * sd:
            return np.inf
    return float(brentq(lambda d: power(d, sd, n, level) - target, 0.0, hi, xtol=sd * 1e-6))


def seeds_needed(delta: float, sd: float, level: float, target: float = POWER) -> int | None:
    """The fewest seeds whose paired test detects ``delta`` with probability ``target``; None
    beyond ``MAX_SEEDS`` or without a spread."""
    if not (sd > 0) or not np.isfinite(sd) or power(delta, sd, MAX_SEEDS, level) < target:
        return None
    lo, hi = 1, MAX_SEEDS  # power grows with n: bisect for the first n that reaches the target
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if power(delta, sd, mid, level) >= target else (mid, hi)
    return hi


@dataclass(frozen=True)
class Estimate:
    """What a family of ``m`` comparisons with a paired spread ``sd`` (``df`` degrees of freedom) needs."""

    m: int
    sd: float
    df: int
    level: float
    seeds: dict[float, int | None]  # Δ → seeds needed

    def sentence(self, metric: str) -> str:
        needs = " and ".join(f"Δ {d * 100:.1f} points needs {_seeds(n)}" for d, n in self.seeds.items())
        return (
            f"Power: paired seed spread of {metric} {self.sd:.4f} (pooled, {self.df} df); with {self.m} "
            f"comparison{'s' if self.m != 1 else ''} at the family threshold (two-sided {self.level:.2g}) "
            f"and {POWER:.0%} power, {needs}."
        )


def estimate(sds: Iterable[float], counts: Iterable[int], m: int, correction: str, alpha: float) -> Estimate | None:
    """The family's estimate from each config's paired spread and pair count; None without a spread."""
    sd, df = pooled_spread(sds, counts)
    if not df or not sd > 0:
        return None
    level = family_level(m, correction, alpha)
    return Estimate(m, sd, df, level, {d: seeds_needed(d, sd, level) for d in POINTS})


def per_config(pairs: pd.Series, sd: float, level: float) -> pd.Series:
    """Minimum detectable Δ for each config, from its number of paired seeds."""
    known = {int(n): min_detectable(sd, int(n), level) for n in set(pairs.dropna()) if n >= 2}
    return pairs.map(lambda n: known.get(int(n), np.nan) if np.isfinite(n) else np.nan)


def _seeds(n: int | None) -> str:
    return f"more than {MAX_SEEDS} seeds" if n is None else f"{n} seeds"
