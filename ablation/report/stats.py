"""Seed statistics: per config mean and 95 % t-interval over seeds, the paired difference to the
baseline trained with the same seed, a verdict, and the Pareto front of accuracy against cost.

A config's runs share its ``group_hash`` (the config without the seed); a run's baseline is the
run whose ``config_hash`` is its ``baseline_hash`` (same model, data, training settings, seed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ablation.config.errors import OptionError, not_one_of
from ablation.report import family, power
from ablation.report.bootstrap import Interval
from ablation.report.control import with_control_deltas
from ablation.track.schema import (
    COCO_AP,
    COCO_AP50,
    COCO_AP75,
    COCO_AP_LARGE,
    COCO_AP_MEDIUM,
    COCO_AP_SMALL,
    COCO_AR100,
    FINISHED,
    GFLOPS,
    MAP50,
    MAP50_95,
    ONNXRUNTIME,
    PARAMS,
    PRECISION,
    PYTORCH,
    RECALL,
    RUNTIMES,
    Runtime,
)

SUMMARISED = (MAP50, MAP50_95, COCO_AP)  # mean and t-interval over seeds
COMPARED = SUMMARISED  # paired difference to the baseline
# each runtime's latency (``schema.RUNTIMES``: PyTorch, ONNX Runtime, OpenVINO); its device column
# and Pareto flag take its stem: ``<stem>_device``, ``<stem>_mixed``, ``pareto_<stem>``
COSTS = (PARAMS, GFLOPS, *(name for runtime in RUNTIMES for name in (runtime.ms, runtime.p90_ms)))
# means over seeds only (the CSV keeps every logged metric per config)
MEANS = (PRECISION, RECALL, COCO_AP50, COCO_AP75, COCO_AP_SMALL, COCO_AP_MEDIUM, COCO_AP_LARGE, COCO_AR100)
BETTER, WORSE, NO_EVIDENCE, SINGLE_SEED = "better", "worse", "no evidence", "single seed"
BASELINE, NO_BASELINE, FAILED_VERDICT = "baseline", "no baseline", "failed"
# a config's run (with ``baseline_run_id``) → the image-bootstrap interval, or None when it cannot be made
SingleSeed = Callable[[pd.Series], Interval | None]
# the metric the image bootstrap recomputes for a verdict metric: the COCO AP family only
BOOTSTRAP_METRIC = {MAP50_95: COCO_AP, COCO_AP: COCO_AP, MAP50: COCO_AP50, COCO_AP50: COCO_AP50}


class MetricError(OptionError):
    """``metric=`` names a metric that is not compared, or that the runs did not log."""


def check_metric_name(metric: str) -> None:
    """One sentence naming the nearest metric when ``metric`` is none of ``COMPARED``."""
    if metric not in COMPARED:
        raise not_one_of("metric", metric, COMPARED, MetricError)


def check_metric(runs: pd.DataFrame, metric: str) -> None:
    """One sentence listing the choices when no run logged ``metric``."""
    check_metric_name(metric)
    logged = [m for m in COMPARED if m in runs.columns and runs[m].notna().any()]
    if metric not in logged:
        raise MetricError(
            f"metric={metric} was not logged by these runs; choose one of: {', '.join(logged) or '(none logged yet)'}."
        )


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
    baseline of the same seed; NaN without one), and with wider baselines in the runs
    ``delta_control_<metric>`` (this run minus the control curve: ``report.control``)."""
    metrics = [m for m in COMPARED if m in runs.columns]
    done = runs[runs["status"] == FINISHED].set_index("config_hash")
    base = done[["run_id", *metrics]].add_prefix("base_")
    out = runs.join(base, on="baseline_hash")
    for m in metrics:
        out[f"delta_{m}"] = (out[m] - out[f"base_{m}"]).where(out["status"] == FINISHED)
    out = out.rename(columns={"base_run_id": "baseline_run_id"})
    return with_control_deltas(out.drop(columns=[f"base_{m}" for m in metrics]), metrics)


def verdict(lo: float, hi: float) -> str:
    """better / worse when the interval excludes 0, else no evidence."""
    if lo > 0:
        return BETTER
    if hi < 0:
        return WORSE
    return NO_EVIDENCE


def configs_frame(
    runs: pd.DataFrame,
    metric: str = "mAP50-95",
    single_seed: SingleSeed | None = None,
    correction: str = family.DEFAULT_CORRECTION,
    alpha: float = family.DEFAULT_ALPHA,
) -> pd.DataFrame:
    """One row per config (``group_hash``) of a tidy runs frame (``runs.tidy``): n seeds, mean and
    interval bounds (``<m>``, ``<m>_lo``, ``<m>_hi``), mean costs, the paired difference to the
    baseline (``delta_<m>``, ``_lo``, ``_hi``: 95 % per comparison, ``pairs``), ``verdict`` on
    ``metric`` over the whole table (``family_columns``) and the Pareto flags. A config trained
    with one seed gets the image bootstrap (``boot_*`` on ``boot_metric``) from ``single_seed``
    when it gives one: information, never a verdict."""
    if runs.empty:
        return pd.DataFrame()
    runs = with_deltas(runs)
    rows = [_config_row(group, metric, single_seed) for _, group in runs.groupby("group_hash", sort=False)]
    frame = family_columns(pd.DataFrame(rows), metric, correction, alpha)
    frame["pareto_gflops"] = pareto_front(frame, "gflops", metric)
    for runtime in RUNTIMES:
        frame[runtime.pareto] = pareto_front(frame, runtime.ms, metric, within=runtime.device)
    order = frame[metric].fillna(-np.inf)
    return (
        frame.assign(_order=-order)
        .sort_values(["model", "_order", "name"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


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
    for runtime in RUNTIMES:
        row.update(_latency_device(done, runtime))
    pairs = done.dropna(subset=[f"delta_{metric}"]) if f"delta_{metric}" in done else done.iloc[:0]
    for m in COMPARED:
        row[f"delta_{m}"], row[f"delta_{m}_lo"], row[f"delta_{m}_hi"] = t_interval(pairs[f"delta_{m}"])
    row["pairs"] = len(pairs)
    deltas = pairs[f"delta_{metric}"] if len(pairs) else pd.Series(dtype=float)
    row["delta_sd"] = float(deltas.std(ddof=1)) if len(deltas) >= 2 else np.nan
    row["p_value"] = np.nan if _is_baseline(first) else family.paired_t(deltas)[1]
    boot = None
    if len(pairs) == 1 and single_seed is not None and not _is_baseline(first) and metric in BOOTSTRAP_METRIC:
        boot = single_seed(pairs.iloc[0])
    row["boot_metric"] = BOOTSTRAP_METRIC[metric] if boot else ""
    row["boot_delta"], row["boot_lo"], row["boot_hi"] = (boot.delta, boot.lo, boot.hi) if boot else (np.nan,) * 3
    row["boot_note"] = boot.note if boot else ""  # how the image bootstrap paired the runs, or why it failed
    row["verdict"] = _verdict(first, len(done), row)
    if f"delta_control_{metric}" in group:
        row.update(_control_columns(done, metric, first))
    return row


def _control_columns(done: pd.DataFrame, metric: str, first: pd.Series) -> dict[str, object]:
    """Against the control curve (``report.control``): the interpolated value, the paired Δ and
    its 95 % interval per metric, the pairs, the spread and the raw p-value on ``metric``."""
    pairs = done.dropna(subset=[f"delta_control_{metric}"])
    row: dict[str, object] = {"control": str(first.get("control") or "")}
    for m in COMPARED:
        if f"delta_control_{m}" in pairs:
            row[f"control_{m}"] = pairs[f"control_{m}"].mean() if len(pairs) else np.nan
            interval = t_interval(pairs[f"delta_control_{m}"])
            row[f"delta_control_{m}"], row[f"delta_control_{m}_lo"], row[f"delta_control_{m}_hi"] = interval
    deltas = pairs[f"delta_control_{metric}"]
    row["control_pairs"] = len(pairs)
    row["control_sd"] = float(deltas.std(ddof=1)) if len(deltas) >= 2 else np.nan
    row["p_control"] = family.paired_t(deltas)[1] if len(pairs) else np.nan
    return row


def _latency_device(done: pd.DataFrame, runtime: Runtime = PYTORCH) -> dict[str, object]:
    """``<stem>_device`` of a config's runs timed in ``runtime``. Runs timed on different devices
    or thread counts are not comparable: the config then has no latency (NaN) and the device reads
    ``mixed: A | B`` (``<stem>_mixed``), so it is left off that runtime's latency Pareto front."""
    device, mixed, cost = runtime.device, runtime.mixed, runtime.ms
    if device not in done or cost not in done:
        return {device: "", mixed: False}
    timed = done[done[cost].notna()]
    devices = sorted({str(d) for d in timed[device].fillna("")}, key=str)
    if len(devices) < 2:
        return {device: devices[0] if devices else "", mixed: False}
    return {
        device: "mixed: " + " | ".join(d or "unknown" for d in devices),
        mixed: True,
        cost: np.nan,
        runtime.p90_ms: np.nan,
    }


def family_columns(frame: pd.DataFrame, metric: str, correction: str, alpha: float) -> pd.DataFrame:
    """The configs with a paired t-test (two or more paired seeds) form one family: ``p_adjusted``
    (``correction``), ``verdict`` from it, the interval of Δ at the level each comparison was
    tested at (``family_lo``, ``family_hi``, ``family_confidence``), and the smallest Δ the
    config's seeds detect at the family's threshold with 80 % power from the paired spread pooled
    over the table (``min_detectable_delta``).

    With wider baselines (``p_control``: each config against the control curve), those
    comparisons join the same family: one correction over both kinds (``p_control_adjusted``,
    ``verdict_control``, ``control_lo``, ``control_hi``, ``control_confidence``)."""
    family.check(correction, alpha)
    frame = frame.copy()
    kinds = [("p_value", "delta", "delta_sd", "pairs")]
    if "p_control" in frame:
        kinds.append(("p_control", "delta_control", "control_sd", "control_pairs"))
    p = np.concatenate([frame[k[0]].to_numpy(dtype=float) for k in kinds])
    adjusted = family.adjust(p, correction)
    levels = family.interval_levels(p, adjusted, correction, alpha)
    size = len(frame)
    for j, (p_key, delta, sd_key, pairs_key) in enumerate(kinds):
        part = slice(j * size, (j + 1) * size)
        decided = _decided(frame, metric, adjusted[part], levels[part], alpha, (p_key, delta, sd_key, pairs_key))
        if j == 0:
            frame["p_adjusted"] = adjusted[part]
            frame["family_lo"], frame["family_hi"], frame["family_confidence"] = decided["interval"]
            frame["verdict"] = np.where(decided["tested"], decided["verdict"], frame["verdict"].to_numpy(dtype=object))
        else:
            frame["p_control_adjusted"] = adjusted[part]
            frame["control_lo"], frame["control_hi"], frame["control_confidence"] = decided["interval"]
            frame["verdict_control"] = np.where(decided["tested"], decided["verdict"], "")
    tested = np.isfinite(frame["p_value"].to_numpy(dtype=float))
    estimate = family_power(frame, correction, alpha)
    spread, level = (estimate.sd, estimate.level) if estimate else (np.nan, np.nan)
    frame["min_detectable_delta"] = power.per_config(frame["pairs"], spread, level).where(tested)
    frame["correction"], frame["verdict_metric"] = correction, metric
    return frame


def _decided(
    frame: pd.DataFrame,
    metric: str,
    adjusted: np.ndarray,
    levels: np.ndarray,
    alpha: float,
    keys: tuple[str, str, str, str],
) -> dict[str, object]:
    """One kind of comparison of the family: which rows are tested, their verdict from the
    adjusted p-value, and the interval of Δ at each row's level."""
    from scipy import stats

    p_key, delta, sd_key, pairs_key = keys
    n = frame[pairs_key].to_numpy(dtype=float)
    mean, sd = frame[f"{delta}_{metric}"].to_numpy(dtype=float), frame[sd_key].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.isf(levels / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    tested = np.isfinite(frame[p_key].to_numpy(dtype=float))
    rejected = adjusted <= alpha
    verdict = np.where(rejected & (mean > 0), BETTER, np.where(rejected & (mean < 0), WORSE, NO_EVIDENCE))
    return {"tested": tested, "verdict": verdict, "interval": (mean - half, mean + half, 1 - levels)}


def family_power(configs: pd.DataFrame, correction: str, alpha: float) -> power.Estimate | None:
    """The table's power estimate (``power.estimate``) from its tested configs' paired spreads."""
    if configs.empty or "p_value" not in configs:
        return None
    tested = configs[np.isfinite(configs["p_value"].to_numpy(dtype=float))]
    against_control = (
        int(np.isfinite(configs["p_control"].to_numpy(dtype=float)).sum()) if "p_control" in configs else 0
    )
    m = len(tested) + against_control  # the comparisons against the control curve are in the family too
    return power.estimate(tested["delta_sd"], tested["pairs"], m, correction, alpha)


def _is_baseline(run: pd.Series) -> bool:
    return run["config_hash"] == run["baseline_hash"]


def _verdict(first: pd.Series, finished: int, row: dict[str, object]) -> str:
    """The verdict before the family's test (``family_columns`` decides the tested configs): one
    paired seed is never a verdict, whatever its image bootstrap says."""
    if finished == 0:
        return FAILED_VERDICT
    if _is_baseline(first):
        return BASELINE
    pairs = row["pairs"]
    if pairs == 0:
        return NO_BASELINE
    if pairs == 1:
        return SINGLE_SEED
    return NO_EVIDENCE  # decided by family_columns


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


def ranking_change(configs: pd.DataFrame, first: Runtime = PYTORCH, second: Runtime = ONNXRUNTIME) -> str:
    """One sentence: whether the configs timed in both runtimes rank the same by latency in
    ``first`` and in ``second`` (their ``<stem>_ms`` columns), and if not the pair that swaps most;
    "" when fewer than two configs have both."""
    a, b = first.ms, second.ms
    if a not in configs or b not in configs:
        return ""
    both = configs[configs[a].notna() & configs[b].notna()]
    if len(both) < 2:
        return ""
    names = both["name"].astype(str).tolist()
    a_ms, b_ms = both[a].to_numpy(float), both[b].to_numpy(float)
    pairs = [(i, j) for i in range(len(both)) for j in range(i + 1, len(both))]
    swapped = [(i, j) for i, j in pairs if (a_ms[i] - a_ms[j]) * (b_ms[i] - b_ms[j]) < 0]
    devices = f"{first.name} on {_devices(both, first.device)}, {second.name} on {_devices(both, second.device)}"
    if not swapped:
        return f"The latency ranking of the {len(both)} configs is the same in both runtimes ({devices})."

    def swing(pair: tuple[int, int]) -> float:
        i, j = pair
        return abs(np.log(a_ms[i] / a_ms[j])) + abs(np.log(b_ms[i] / b_ms[j]))

    i, j = max(swapped, key=swing)
    if a_ms[i] > a_ms[j]:
        i, j = j, i
    return (
        f"The latency ranking changes between runtimes ({devices}): {len(swapped)} of {len(pairs)} pairs of "
        f"configs swap order; e.g. {names[i]} is faster than {names[j]} in {first.name} ({a_ms[i]:.2f} vs "
        f"{a_ms[j]:.2f} ms) but slower in {second.name} ({b_ms[i]:.2f} vs {b_ms[j]:.2f} ms)."
    )


def ranking_changes(configs: pd.DataFrame, runtime: Runtime) -> str:
    """``ranking_change`` of ``runtime`` against each runtime listed before it in ``RUNTIMES``."""
    earlier = RUNTIMES[: RUNTIMES.index(runtime)]
    return " ".join(s for s in (ranking_change(configs, other, runtime) for other in earlier) if s)


def _devices(frame: pd.DataFrame, column: str) -> str:
    labels = sorted({str(d) for d in frame[column].fillna("") if str(d)}) if column in frame else []
    return " | ".join(labels) or "an unrecorded device"
