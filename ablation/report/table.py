"""The configs frame as text cells, for the terminal and the HTML report."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ablation.track.schema import RUNTIMES

if TYPE_CHECKING:
    from ablation.report.summary import Summary

SHOWN = ("mAP50", "mAP50-95", "coco/AP")


def display_frame(configs: pd.DataFrame, metric: str = "mAP50-95") -> pd.DataFrame:
    """One text row per config: mean ± half-width of the 95 % interval over seeds, the paired
    difference to the baseline with its interval at the level it was tested at (``CI level``),
    raw and adjusted p-values of the paired t-test, the smallest Δ these seeds detect, the
    verdict, with wider baselines in the table the same against the control curve
    (``report.control``), the image bootstrap of a single seed (information only), and the costs. Columns
    nobody logged are left out."""
    out = pd.DataFrame(
        {"config": configs["name"], "seeds": [f"{n}/{s}" for n, s in zip(configs["n"], configs["seeds"])]}
    )
    for m in SHOWN:
        if configs[m].notna().any():
            out[m] = [_mean_pm(*v) for v in zip(configs[m], configs[f"{m}_lo"], configs[f"{m}_hi"])]
    out[f"Δ {metric} [CI]"] = [_delta(r, metric) for _, r in configs.iterrows()]
    out["CI level"] = [f"{c:.2%}" if _finite(c) else "" for c in configs["family_confidence"]]
    correction = str(configs["correction"].iloc[0]) if len(configs) else ""
    out[f"p / p adj ({correction})"] = [_p(r) for _, r in configs.iterrows()]
    out["min detectable Δ"] = [f"{v:.3f}" if _finite(v) else "" for v in configs["min_detectable_delta"]]
    out["verdict"] = configs["verdict"]
    if f"delta_control_{metric}" in configs and configs[f"delta_control_{metric}"].notna().any():
        out["Δ vs control [CI]"] = [_delta(r, metric, "delta_control", "control") for _, r in configs.iterrows()]
        out["p / p adj vs control"] = [_p(r, "p_control", "p_control_adjusted") for _, r in configs.iterrows()]
        out["verdict vs control"] = configs["verdict_control"].fillna("")
    if configs["boot_lo"].notna().any():
        out["1 seed: val-image bootstrap"] = [_bootstrap(r) for _, r in configs.iterrows()]
    out["params (M)"] = [_number(v / 1e6, 3) for v in configs["params"]]
    out["GFLOPs"] = [_number(v, 2) for v in configs["gflops"]]
    for runtime in RUNTIMES:  # PyTorch, ONNX Runtime, OpenVINO
        mixed = configs.get(runtime.mixed, pd.Series(False, index=configs.index)).fillna(False)
        cost = configs.get(runtime.ms, pd.Series(np.nan, index=configs.index))
        if cost.notna().any() or mixed.any():
            out[runtime.column] = ["mixed devices" if m else _number(v, 2) for v, m in zip(cost, mixed)]
    return out.reset_index(drop=True)


def format_table(configs: pd.DataFrame, metric: str = "mAP50-95") -> str:
    """``display_frame`` as plain text."""
    if configs.empty:
        return "(no runs)"
    return display_frame(configs, metric).to_string(index=False)


def _mean_pm(mean: float, lo: float, hi: float) -> str:
    if not _finite(mean):
        return "-"
    return f"{mean:.3f}" if not _finite(lo) else f"{mean:.3f} ± {(hi - lo) / 2:.3f}"


def power_line(summary: Summary) -> str:
    """The table's power estimate as one sentence (``power.Estimate.sentence``)."""
    estimate = summary.power
    if estimate is None:
        return (
            "Power: no paired seed spread yet (no config has two seeds paired with its baseline); "
            "train seed=0,1,2 or more to learn how many seeds a Δ of 0.5 or 1.0 points needs."
        )
    return estimate.sentence(summary.metric)


def _delta(row: pd.Series, metric: str, delta: str = "delta", interval: str = "family") -> str:
    if row["verdict"] == "baseline" and delta == "delta":
        return "0"
    mean, lo, hi = row[f"{delta}_{metric}"], row[f"{interval}_lo"], row[f"{interval}_hi"]
    if not _finite(mean):
        return "-"
    return f"{mean:+.3f}" if not _finite(lo) else f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _p(row: pd.Series, raw: str = "p_value", adjusted: str = "p_adjusted") -> str:
    return f"{_pvalue(row[raw])} / {_pvalue(row[adjusted])}" if _finite(row[raw]) else ""


def _pvalue(p: float) -> str:
    return f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


def _bootstrap(row: pd.Series) -> str:
    """Covers the sampling of validation images only, not training noise: never a verdict."""
    if not _finite(row["boot_lo"]):
        return ""
    return f"Δ {row['boot_metric']} {row['boot_delta']:+.3f} [{row['boot_lo']:+.3f}, {row['boot_hi']:+.3f}]"


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if _finite(value) else "-"


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
