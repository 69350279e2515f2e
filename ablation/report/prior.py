"""Before training: what earlier experiments in the store say this grid can detect."""

from __future__ import annotations

from collections.abc import Sequence

from ablation.report import power
from ablation.report.runs import load_runs
from ablation.report.stats import with_deltas
from ablation.track import FINISHED


def prior_line(
    uri: str,
    experiment: str,
    entries: Sequence,
    correction: str = "holm",
    alpha: float = 0.05,
    metric: str = "mAP50-95",
) -> str:
    """One line: the paired seed spread of earlier runs in the store with this grid's model, data
    and training settings (their baseline's ``group_hash``), the smallest Δ this grid's seeds
    detect at its family threshold, and the seeds a Δ of 0.5 and 1.0 points needs; or that none
    is known yet. ``entries``: ``grid.GridEntry`` s."""
    from ablation.track.store import not_created, resolve_uri

    bases = {e.group_hash for e in entries if e.is_baseline}
    m = len({e.group_hash for e in entries if not e.is_baseline})
    seeds = len({e.seed for e in entries})
    uri = resolve_uri(uri)
    none = (
        f"[ablation] power: no paired seed spread is known yet for this model, data and training settings "
        f"(no earlier config with two seeds in experiment '{experiment}'); the table after training estimates it."
    )
    if not_created(uri):
        return none
    runs = load_runs(uri, experiment)
    if runs.empty or metric not in runs:
        return none
    group_of = runs.drop_duplicates("config_hash").set_index("config_hash")["group_hash"]
    runs = with_deltas(runs)
    earlier = runs[
        (runs["status"] == FINISHED)
        & (runs["config_hash"] != runs["baseline_hash"])
        & runs["baseline_hash"].map(group_of).isin(bases)
    ].dropna(subset=[f"delta_{metric}"])
    spread = earlier.groupby("group_hash")[f"delta_{metric}"].agg(["std", "count"])
    estimate = power.estimate(spread["std"], spread["count"], max(m, 1), correction, alpha)
    if estimate is None:
        return none
    detect = power.min_detectable(estimate.sd, seeds, estimate.level)
    grid = (
        f"{m} comparison(s) with {seeds} seeds detect Δ {metric} ≥ {detect:.4f} (80 % power)"
        if seeds >= 2
        else "with one seed no config gets a verdict (single seed)"
    )
    return (
        f"[ablation] power before training, from {len(spread)} earlier config(s) with these settings in this store: "
        f"{grid}. " + estimate.sentence(metric)
    )
