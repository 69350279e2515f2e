"""The configs frame as text cells, for the terminal and the HTML report."""

from __future__ import annotations

import math

import pandas as pd

SHOWN = ("mAP50", "mAP50-95", "coco/AP")


def display_frame(configs: pd.DataFrame, metric: str = "mAP50-95") -> pd.DataFrame:
    """One text row per config: mean ± half-width of the 95 % interval over seeds, the paired
    difference to the baseline with its interval (``img`` marks the image bootstrap of a single
    seed), the verdict, and the costs. Columns nobody logged are left out."""
    out = pd.DataFrame({"config": configs["name"], "seeds": [f"{n}/{s}" for n, s in zip(configs["n"], configs["seeds"])]})
    for m in SHOWN:
        if configs[m].notna().any():
            out[m] = [_mean_pm(*v) for v in zip(configs[m], configs[f"{m}_lo"], configs[f"{m}_hi"])]
    out[f"Δ {metric} [95% CI]"] = [_delta(r, metric) for _, r in configs.iterrows()]
    out["verdict"] = configs["verdict"]
    out["params (M)"] = [_number(v / 1e6, 3) for v in configs["params"]]
    out["GFLOPs"] = [_number(v, 2) for v in configs["gflops"]]
    if configs["latency_ms"].notna().any() or configs.get("latency_mixed", pd.Series(dtype=bool)).any():
        mixed = configs.get("latency_mixed", pd.Series(False, index=configs.index)).fillna(False)
        out["latency ms"] = ["mixed devices" if m else _number(v, 2) for v, m in zip(configs["latency_ms"], mixed)]
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


def _delta(row: pd.Series, metric: str) -> str:
    if row["verdict"] == "baseline":
        return "0"
    if _finite(row.get("boot_lo")):
        return f"{row['boot_delta']:+.3f} [{row['boot_lo']:+.3f}, {row['boot_hi']:+.3f}] img"
    mean, lo, hi = row[f"delta_{metric}"], row[f"delta_{metric}_lo"], row[f"delta_{metric}_hi"]
    if not _finite(mean):
        return "-"
    return f"{mean:+.3f}" if not _finite(lo) else f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if _finite(value) else "-"


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
