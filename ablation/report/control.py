"""Each config against the control curve: what the baseline reaches when it gets the same GFLOPs
as width (``control=width``: wider baselines, tag ``control``).

Per seed, the curve runs through the baseline's point (its GFLOPs, its metric) and the points of
its wider baselines of that seed; a config's control value is the curve at the config's GFLOPs,
by linear interpolation between the neighbouring points (beyond the widest one, the last segment
extended; a run's GFLOPs are the planner's count). Its paired difference ``delta_control_<m>`` is
the run minus that value, seed by seed. A seed whose baseline or any of the wider baselines
trained for that baseline (at any seed) did not finish has no control value: every seed's curve
has the same points. A config that adds no GFLOPs to its baseline is not compared with the curve:
the curve is the baseline there, and the test would repeat the comparison with the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ablation.track.schema import CONTROL, FINISHED, GFLOPS


def interpolate(xs: Sequence[float], ys: Sequence[float], x: float) -> float:
    """The piecewise-linear curve through ``(xs, ys)`` at ``x`` (points at one x are averaged;
    outside the points, the end segment extended); NaN with fewer than two distinct xs."""
    points = pd.DataFrame({"x": xs, "y": ys}).dropna().groupby("x", sort=True)["y"].mean()
    if len(points) < 2 or not np.isfinite(x):
        return float("nan")
    px, py = points.index.to_numpy(dtype=float), points.to_numpy(dtype=float)
    i = int(np.clip(np.searchsorted(px, x) - 1, 0, len(px) - 2))  # the segment [px[i], px[i+1]] x lies on or beyond
    return float(py[i] + (py[i + 1] - py[i]) * (x - px[i]) / (px[i + 1] - px[i]))


def is_control(runs: pd.DataFrame) -> pd.Series:
    """The wider-baseline runs (a ``control`` tag)."""
    if CONTROL not in runs:
        return pd.Series(False, index=runs.index)
    return runs[CONTROL].map(lambda tag: isinstance(tag, str) and tag != "").astype(bool)


def with_control_deltas(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """``runs`` plus ``control_<m>`` (the curve at the run's GFLOPs) and ``delta_control_<m>`` for
    every run of a config that is neither a baseline nor a control; unchanged when no run is a
    control."""
    controls = is_control(runs)
    if not controls.any():
        return runs
    out = runs.copy()
    metrics = [m for m in metrics if m in runs]
    for m in metrics:
        out[f"control_{m}"] = np.nan
        out[f"delta_control_{m}"] = np.nan
    done = runs[runs["status"] == FINISHED]
    baselines = runs[runs["config_hash"] == runs["baseline_hash"]]
    base_group = dict(zip(baselines["config_hash"], baselines["group_hash"]))
    wider = runs[controls]
    needed: dict[str, set[str]] = {}  # a baseline's group → the wider baselines trained for it
    for baseline, group in zip(wider["baseline_hash"], wider["group_hash"]):
        needed.setdefault(base_group.get(baseline, ""), set()).add(group)
    by_hash = done.set_index("config_hash")
    compared = (runs["status"] == FINISHED) & ~controls & (runs["config_hash"] != runs["baseline_hash"])
    for index, run in runs[compared].iterrows():
        baseline = run["baseline_hash"]
        at_seed = done[is_control(done) & (done["baseline_hash"] == baseline)]
        wanted = needed.get(base_group.get(baseline, ""), set())
        if not wanted or baseline not in by_hash.index or set(at_seed["group_hash"]) != wanted:
            continue
        xs = [by_hash.at[baseline, GFLOPS], *at_seed[GFLOPS]]
        if not float(run[GFLOPS]) > xs[0]:  # no GFLOPs added: the curve is the baseline, the test its twin
            continue
        for m in metrics:
            value = interpolate(xs, [by_hash.at[baseline, m], *at_seed[m]], float(run[GFLOPS]))
            out.at[index, f"control_{m}"] = value
            out.at[index, f"delta_control_{m}"] = run[m] - value
    return out
