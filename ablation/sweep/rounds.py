"""Which jobs a sweep launches, in which rounds: every planned job at once (the fixed design), or
with ``adaptive.enabled=true`` round after round (``report.adaptive``): every config starts with
``adaptive.start`` of the command line's seeds, and further seeds go only to configs whose verdict
could still change. Extra seeds are grid entries like any other (same group, another seed);
entries already FINISHED count as trained and are never launched again.

Kept apart from the sweeper so that the sweeper only iterates over ``rounds``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from omegaconf import DictConfig

from ablation.config.grid import GridEntry
from ablation.sweep.core import Triage
from ablation.track import Store


def adaptive_enabled(config: DictConfig) -> bool:
    from ablation.report.adaptive import is_enabled

    return is_enabled(config.get("adaptive"))


def design_for(config: DictConfig, entries: list[GridEntry]):
    """The adaptive design of this command line (its seeds are the most any config gets); raises
    ``report.adaptive.AdaptiveError`` with one sentence when it cannot work."""
    from ablation.report.adaptive import Design

    return Design.from_options(config.adaptive, config.get("verdict"), len({e.seed for e in entries}))


def grid_frame(entries: list[GridEntry]) -> pd.DataFrame:
    """``report.adaptive.next_round``'s view of the grid."""
    return pd.DataFrame(
        {
            "config_hash": [e.config_hash for e in entries],
            "group_hash": [e.group_hash for e in entries],
            "baseline_hash": [e.baseline_hash for e in entries],
            "seed": [e.seed for e in entries],
            "baseline": [e.is_baseline for e in entries],
        }
    )


def rounds(config: DictConfig, entries: list[GridEntry], grid: Triage, store: Store) -> Iterator[list[GridEntry]]:
    """The configs to train, round by round (``grid``: the entries sorted against the store). The
    fixed design is one round of every config to train; adaptive: the next round is chosen after
    the previous one ran, from what the store holds."""
    if not adaptive_enabled(config):
        if grid.todo:
            yield list(grid.todo)
        return
    from ablation.report.adaptive import next_round
    from ablation.report.summary import summarise

    design = design_for(config, entries)
    frame = grid_frame(entries)
    todo = {e.config_hash: e for e in grid.todo}
    trained = {e.config_hash for e in grid.done} & set(frame["config_hash"])
    before = len(trained)

    def read() -> pd.DataFrame:
        return summarise(
            store.uri, store.experiment, hashes=trained, correction=design.correction, alpha=design.alpha
        ).configs

    table = read() if trained else pd.DataFrame()
    spent, number = 0, 0
    while launch := next_round(frame, table, trained, design, spent):
        number += 1
        print(f"[ablation] adaptive seeds, round {number}: {len(launch)} runs")
        yield [todo[h] for h in launch if h in todo]  # the others are trained by another process
        trained |= set(launch)
        spent += len(launch)
        table = read()
    print(saved_line(len(entries), spent, before, design))


def saved_line(fixed: int, spent: int, before: int, design) -> str:
    used = spent + before
    budget = f", budget {design.budget} runs" if design.budget is not None else ""
    return (
        f"[ablation] adaptive seeds (start {design.start}, step {design.step}, at most {design.max_seeds}{budget}): "
        f"{used} runs ({spent} trained now, {before} already FINISHED) instead of {fixed} for the fixed design; "
        f"{fixed - used} runs saved ({(fixed - used) / fixed:.0%})."
    )


def print_prior(config: DictConfig, entries: list[GridEntry]) -> None:
    """``report.prior.prior_line`` for this command line (one warning line if the store cannot be read)."""
    import sys

    from ablation.report.prior import prior_line

    tracking, verdict = config.get("tracking"), config.get("verdict") or {}
    if tracking is None:
        return
    try:
        print(
            prior_line(
                tracking.uri,
                str(tracking.experiment),
                entries,
                str(verdict.get("correction", "holm")),
                float(verdict.get("alpha", 0.05)),
            )
        )
    except Exception as err:
        print(f"[ablation] power: no estimate ({type(err).__name__}: {err})", file=sys.stderr)
