"""Adaptive seeds: spend further seeds only on configs whose verdict could still change.

Every config starts with ``start`` seeds (paired with the baseline of each seed). After each round
(a look), a config stays open while the 99 % upper bound of its |Δ|, |Δ̄| + z·σ/√n, could still
reach the final threshold with all ``max_seeds`` seeds: (|Δ̄| + z·σ/√n)·√max_seeds/σ ≥
t(max_seeds−1, 1 − alpha/2m), with σ the paired spread pooled over the table (``power``). Open
configs get ``step`` more seeds, up to ``max_seeds``, while an optional ``budget`` of runs lasts.

Why the family-wise guarantee survives the looks: interim looks only ever *close* configs, and a
config is closed only while its raw p-value exceeds alpha, so no correction can ever call it
better/worse. Verdicts come from one analysis at the end: the same Holm (or BH) over the whole
table as any export, where every config still open has all ``max_seeds`` seeds. For Holm, a true
null can then be rejected only if its p-value over the first ``max_seeds`` seeds is at most
alpha/m0 (m0 true nulls), whatever happened at the looks; the union bound gives a family-wise
error ≤ alpha. The looks never test at a fixed level repeatedly, so there is nothing to spend.
(With a ``budget`` that stops open configs before ``max_seeds``, those are analysed at the seeds
they have, and the guarantee holds only as far as the simulation shows.)

Pure functions over frames; the sweep (``ablation.sweep.rounds``) launches what they return.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ablation.config.errors import OptionError, as_bool, as_number
from ablation.report import family, power

Z_UPPER = 2.326  # one-sided 99 %: the optimistic |Δ| a config could still turn out to have
OPEN, CLOSED, DONE = "open", "closed", "done"


class AdaptiveError(OptionError):
    """Adaptive-seed options that cannot work with this grid."""


@dataclass(frozen=True)
class Design:
    start: int = 2  # seeds every config starts with
    step: int = 1  # seeds added per round to the open configs
    max_seeds: int = 5  # every seed of the command line
    budget: int | None = None  # most runs this sweep may train (baselines included); None: no limit
    correction: str = family.DEFAULT_CORRECTION
    alpha: float = family.DEFAULT_ALPHA

    @classmethod
    def from_options(cls, adaptive: Mapping[str, Any], verdict: Mapping[str, Any] | None, max_seeds: int) -> Design:
        """The checked design of ``adaptive.*`` and ``verdict.*`` for a grid of ``max_seeds`` seeds;
        ``AdaptiveError`` (one sentence) when it cannot work."""
        verdict, budget = verdict or {}, adaptive.get("budget")
        correction, alpha = (
            str(verdict.get("correction", family.DEFAULT_CORRECTION)),
            verdict.get("alpha", family.DEFAULT_ALPHA),
        )
        family.check(correction, alpha)
        design = cls(
            start=as_number("adaptive.start", adaptive.get("start", cls.start), int, str(cls.start), AdaptiveError),
            step=as_number("adaptive.step", adaptive.get("step", cls.step), int, str(cls.step), AdaptiveError),
            max_seeds=max_seeds,
            budget=None if budget is None else as_number("adaptive.budget", budget, int, "100", AdaptiveError),
            correction=correction,
            alpha=float(alpha),
        )
        design.check()
        return design

    def check(self) -> None:
        family.check(self.correction, self.alpha)
        if self.max_seeds < 2:
            raise AdaptiveError(
                f"adaptive seeds need at least 2 seeds on the command line (seed=0,1,2,3,4), got {self.max_seeds}."
            )
        if not 1 <= self.start <= self.max_seeds:
            raise AdaptiveError(
                f"adaptive.start={self.start} must lie between 1 and the {self.max_seeds} seeds given; "
                f"the nearest is adaptive.start={min(max(self.start, 1), self.max_seeds)}."
            )
        if self.step < 1:
            raise AdaptiveError(f"adaptive.step={self.step} must be at least 1; the nearest is adaptive.step=1.")
        if self.budget is not None and self.budget < 1:
            raise AdaptiveError(f"adaptive.budget={self.budget} must be a positive number of runs, or null for none.")


def is_enabled(adaptive: Mapping[str, Any] | None) -> bool:
    """``adaptive.enabled`` (false when the block is missing); ``AdaptiveError`` unless true or false."""
    return as_bool("adaptive.enabled", (adaptive or {}).get("enabled", False), AdaptiveError)


def final_threshold(m: int, design: Design) -> float:
    """The t a config's test over all ``max_seeds`` seeds must reach (the family's first step)."""
    from scipy import stats

    return float(stats.t.isf(power.family_level(m, design.correction, design.alpha) / 2, design.max_seeds - 1))


def states(configs: pd.DataFrame, design: Design) -> pd.Series:
    """Per config (indexed by ``group_hash``; baselines and configs without a paired seed left
    out): ``done`` (all seeds paired), ``closed`` (cannot reach a verdict) or ``open``."""
    tested = configs[~configs["verdict"].isin(("baseline", "failed", "no baseline"))]
    m = int(len(tested))
    sd, _ = power.pooled_spread(tested["delta_sd"], tested["pairs"])
    threshold = final_threshold(max(m, 1), design)
    out = {}
    for row in tested.itertuples(index=False):
        n = int(row.pairs)
        if n >= design.max_seeds:
            out[row.group_hash] = DONE
        elif not np.isfinite(sd) or sd <= 0:
            out[row.group_hash] = OPEN  # no spread known yet: nothing to close on
        else:
            mean = abs(float(row.delta))
            reach = (mean + Z_UPPER * sd / np.sqrt(n)) * np.sqrt(design.max_seeds) / sd
            p = float(row.p_value)
            rejectable = np.isfinite(p) and p <= design.alpha
            out[row.group_hash] = OPEN if reach >= threshold or rejectable else CLOSED
    return pd.Series(out, dtype=object)


def next_round(
    grid: pd.DataFrame, configs: pd.DataFrame, trained: set[str], design: Design, spent: int = 0
) -> list[str]:
    """The ``config_hash`` es to train next: for every open config its next ``step`` seeds (in the
    order of ``grid``'s seeds) and the baselines they pair with, within the ``budget`` left after
    ``spent`` runs (configs in grid order while they fit). ``grid``: one row per grid entry with
    ``config_hash``, ``group_hash``, ``baseline_hash``, ``seed``, ``baseline`` (bool); ``trained``:
    the entries that have run (or were FINISHED before). Empty when nothing is open."""
    seeds = list(dict.fromkeys(grid["seed"]))
    frame = grid.assign(rank=grid["seed"].map({s: i for i, s in enumerate(seeds)}))
    if not configs.empty:
        configs = configs.assign(delta=configs[f"delta_{configs['verdict_metric'].iloc[0]}"])
    state = states(configs, design) if not configs.empty else pd.Series(dtype=object)
    left = None if design.budget is None else design.budget - spent
    launch: list[str] = []
    for group, rows in frame[~frame["baseline"]].groupby("group_hash", sort=False):
        have = int(rows["config_hash"].isin(trained).sum())
        if have == 0:
            target = design.start
        elif state.get(group) == OPEN:
            target = min(have + design.step, design.max_seeds)
        else:
            continue
        wanted = rows[(rows["rank"] < target) & ~rows["config_hash"].isin(trained)]
        bases = [
            h
            for h in wanted["baseline_hash"]
            if h not in trained and h not in launch and h in set(frame["config_hash"])
        ]
        cost = len(wanted) + len(bases)
        if not cost or (left is not None and cost > left):
            continue
        launch += [*bases, *wanted["config_hash"]]
        if left is not None:
            left -= cost
    return launch
