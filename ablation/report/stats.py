"""Seed statistics: per config mean and 95 % t-interval over seeds, the paired difference to the
baseline trained with the same seed, a verdict, and the Pareto front of accuracy against cost.

A config's runs share its ``group_hash`` (the config without the seed); a run's baseline is the
run whose ``config_hash`` is its ``baseline_hash`` (same model, data, training settings, seed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .bootstrap import Interval

FINISHED, FAILED = "FINISHED", "FAILED"
SUMMARISED = ("mAP50", "mAP50-95", "coco/AP")  # mean and t-interval over seeds
COMPARED = ("mAP50", "mAP50-95", "coco/AP")  # paired difference to the baseline
COSTS = ("params", "gflops", "latency_ms", "latency_p90_ms")
# means over seeds only (the CSV keeps every logged metric per config)
MEANS = ("precision", "recall", "coco/AP50", "coco/AP75", "coco/AP_small", "coco/AP_medium", "coco/AP_large", "coco/AR100")
BETTER, WORSE, NO_EVIDENCE, SINGLE_SEED = "better", "worse", "no evidence", "single seed"
BASELINE, NO_BASELINE, FAILED_VERDICT = "baseline", "no baseline", "failed"
# a config's run (with ``baseline_run_id``) → the image-bootstrap interval, or None when it cannot be made
SingleSeed = Callable[[pd.Series], Interval | None]


def t_interval(values: Sequence[float] | pd.Series, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval (NaN bounds for fewer than two values; NaNs dropped)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return (np.nan, np.nan, np.nan)
    mean = float(v.mean())
    if len(v) < 2:
        return (mean, np.nan, np.nan)
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return (mean, mean - half, mean + half)


def with_deltas(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` plus ``baseline_run_id`` and ``delta_<metric>`` (this run minus its FINISHED
    baseline of the same seed; NaN without one)."""
    metrics = [m for m in COMPARED if m in runs.columns]
    done = runs[runs["status"] == FINISHED].set_index("config_hash")
    base = done[["run_id", *metrics]].add_prefix("base_")
    out = runs.join(base, on="baseline_hash")
    for m in metrics:
        out[f"delta_{m}"] = (out[m] - out[f"base_{m}"]).where(out["status"] == FINISHED)
    out = out.rename(columns={"base_run_id": "baseline_run_id"})
    return out.drop(columns=[f"base_{m}" for m in metrics])


def verdict(lo: float, hi: float) -> str:
    """better / worse when the interval excludes 0, else no evidence."""
    if lo > 0:
        return BETTER
    if hi < 0:
        return WORSE
    return NO_EVIDENCE


def configs_frame(runs: pd.DataFrame, metric: str = "mAP50-95", single_seed: SingleSeed | None = None) -> pd.DataFrame:
    """One row per config (``group_hash``) of a tidy runs frame (``runs.tidy``): n seeds, mean and
    interval bounds (``<m>``, ``<m>_lo``, ``<m>_hi``), mean costs, the paired difference to the
    baseline (``delta_<m>``, ``_lo``, ``_hi``, ``pairs``), ``verdict`` on ``metric`` and the
    Pareto flags. A config trained with one seed gets the image bootstrap (``boot_*``) from
    ``single_seed`` when it gives one."""
    if runs.empty:
        return pd.DataFrame()
    runs = with_deltas(runs)
    rows = [_config_row(group, metric, single_seed) for _, group in runs.groupby("group_hash", sort=False)]
    frame = pd.DataFrame(rows)
    frame["pareto_gflops"] = pareto_front(frame, "gflops", metric)
    frame["pareto_latency"] = pareto_front(frame, "latency_ms", metric, within="latency_device")
    order = frame[metric].fillna(-np.inf)
    return frame.assign(_order=-order).sort_values(["model", "_order", "name"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _config_row(group: pd.DataFrame, metric: str, single_seed: SingleSeed | None) -> dict[str, object]:
    done = group[group["status"] == FINISHED]
    first = group.iloc[0]
    row: dict[str, object] = {k: first[k] for k in ("name", "model", "attention", "placement", "group_hash")}
    row.update(seeds=len(group), n=len(done), failed=int((group["status"] != FINISHED).sum()))
    for m in SUMMARISED:
        row[m], row[f"{m}_lo"], row[f"{m}_hi"] = t_interval(done[m])
    for c in (*COSTS, *MEANS):
        # latency: the median over seeds, so one run timed while something else ran cannot move it
        row[c] = done[c].median() if c.startswith("latency") else done[c].mean()
    row.update(_latency_device(done))
    pairs = done.dropna(subset=[f"delta_{metric}"]) if f"delta_{metric}" in done else done.iloc[:0]
    for m in COMPARED:
        row[f"delta_{m}"], row[f"delta_{m}_lo"], row[f"delta_{m}_hi"] = t_interval(pairs[f"delta_{m}"])
    row["pairs"] = len(pairs)
    boot = None
    if len(pairs) == 1 and single_seed is not None and not _is_baseline(first):
        boot = single_seed(pairs.iloc[0])
    row["boot_delta"], row["boot_lo"], row["boot_hi"] = (boot.delta, boot.lo, boot.hi) if boot else (np.nan,) * 3
    row["boot_note"] = boot.note if boot else ""  # how the image bootstrap paired the runs, or why it failed
    row["verdict"] = _verdict(first, len(done), row, metric, boot)
    return row


def _latency_device(done: pd.DataFrame) -> dict[str, object]:
    """``latency_device`` of a config's timed runs. Runs timed on different devices or thread
    counts are not comparable: the config then has no latency (NaN) and the device reads
    ``mixed: A | B`` (``latency_mixed``), so it is left off the latency Pareto front."""
    if "latency_device" not in done:
        return {"latency_device": "", "latency_mixed": False}
    timed = done[done["latency_ms"].notna()]
    devices = sorted({str(d) for d in timed["latency_device"].fillna("")}, key=str)
    if len(devices) < 2:
        return {"latency_device": devices[0] if devices else "", "latency_mixed": False}
    return {"latency_device": "mixed: " + " | ".join(d or "unknown" for d in devices), "latency_mixed": True,
            "latency_ms": np.nan, "latency_p90_ms": np.nan}


def _is_baseline(run: pd.Series) -> bool:
    return run["config_hash"] == run["baseline_hash"]


def _verdict(first: pd.Series, finished: int, row: dict[str, object], metric: str, boot: Interval | None) -> str:
    if finished == 0:
        return FAILED_VERDICT
    if _is_baseline(first):
        return BASELINE
    pairs = row["pairs"]
    if pairs == 0:
        return NO_BASELINE
    if pairs == 1:
        return verdict(boot.lo, boot.hi) if boot and np.isfinite(boot.lo) else SINGLE_SEED
    return verdict(float(row[f"delta_{metric}_lo"]), float(row[f"delta_{metric}_hi"]))  # type: ignore[arg-type]


def pareto_front(frame: pd.DataFrame, cost: str, gain: str, within: str | None = None) -> pd.Series:
    """True for the rows no other row beats (cost <= and gain >=, one strictly); rows missing
    either value are never on the front. ``within``: a column whose rows are compared only among
    themselves (latency: one front per ``latency_device``)."""
    if cost not in frame or gain not in frame:
        return pd.Series(False, index=frame.index)
    x, y = frame[cost].to_numpy(dtype=float), frame[gain].to_numpy(dtype=float)
    group = frame[within].astype(str).to_numpy() if within in frame else np.zeros(len(frame))
    ok = np.isfinite(x) & np.isfinite(y)
    front = []
    for i in range(len(frame)):
        beaten = ok & (group == group[i]) & (x <= x[i]) & (y >= y[i]) & ((x < x[i]) | (y > y[i]))
        front.append(bool(ok[i] and not beaten.any()))
    return pd.Series(front, index=frame.index)
