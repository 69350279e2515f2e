"""The report's figures (matplotlib's object API: no pyplot state, no display, Agg canvas)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ablation.track.schema import RUNTIMES

COST_LABELS = {
    "gflops": "GFLOPs (lower is better)",
    **{
        runtime.ms: f"{runtime.name} latency, ms ({'CPU, ' if runtime.deployed else ''}batch 1; lower is better)"
        for runtime in RUNTIMES
    },
}


def _figure(width: float = 7.0, height: float = 4.5):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return fig, fig.add_subplot()


def _errors(configs: pd.DataFrame, metric: str) -> np.ndarray:
    """Half-widths below and above the mean (0 where no interval)."""
    mean = configs[metric].to_numpy(float)
    low = np.nan_to_num(mean - configs[f"{metric}_lo"].to_numpy(float))
    high = np.nan_to_num(configs[f"{metric}_hi"].to_numpy(float) - mean)
    return np.vstack([low, high])


def cost_scatter(configs: pd.DataFrame, cost: str, metric: str, path: Path) -> Path | None:
    """``metric`` against ``cost`` per config, 95 % intervals as error bars, the Pareto front
    (``pareto_<cost>``) as a step line; None when no config has both values."""
    flag = "pareto_" + cost.removesuffix("_ms")
    shown = configs[configs[cost].notna() & configs[metric].notna()]
    if shown.empty:
        return None
    fig, ax = _figure()
    # latency: one colour and one front per device (runs timed elsewhere are not comparable)
    device = cost.removesuffix("_ms") + "_device"  # latency_device (PyTorch), latency_ort_device, ...
    devices = shown.groupby(device, sort=True) if cost.startswith("latency") and device in shown else [("", shown)]
    for k, (label, part) in enumerate(devices):
        where = f" on {label}" if label else ""
        ax.errorbar(
            part[cost],
            part[metric],
            yerr=_errors(part, metric),
            fmt="o",
            capsize=3,
            color=f"C{2 * k}",
            label=f"config (95% CI over seeds){where}",
        )
        front = part[part[flag]].sort_values(cost)
        ax.step(front[cost], front[metric], where="post", color=f"C{2 * k + 1}", label=f"Pareto front{where}")
    for _, row in shown.iterrows():
        ax.annotate(str(row["name"]), (row[cost], row[metric]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel(COST_LABELS.get(cost, cost))
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path)
    return path


def by_attention(configs: pd.DataFrame, metric: str, path: Path) -> Path | None:
    """Bars of ``metric`` per attention module: one bar per config (every model, placement and
    module argument of a sweep), coloured by placement, with that config's own 95 % interval;
    bars that share attention and placement carry their config's name. Each baseline is a
    horizontal line with its interval as a band."""
    from matplotlib.patches import Patch

    measured = configs[configs[metric].notna()]
    if measured.empty:
        return None
    baselines = measured[measured["verdict"] == "baseline"]
    shown = measured[measured["verdict"] != "baseline"]
    attentions = list(dict.fromkeys(shown["attention"])) or ["-"]
    colours = {p: f"C{k}" for k, p in enumerate(dict.fromkeys(shown["placement"]))}
    widest = int(shown.groupby("attention").size().max()) if len(shown) else 1
    fig, ax = _figure(max(7.0, 0.5 * len(shown) + 1.0, 1.2 * len(attentions)))
    for a, attention in enumerate(attentions):
        group = shown[shown["attention"] == attention].sort_values(["placement", "name"], kind="stable")
        if group.empty:
            continue
        width = 0.8 / widest
        x = a + (np.arange(len(group)) - (len(group) - 1) / 2) * width
        ax.bar(
            x,
            group[metric].to_numpy(float),
            width,
            yerr=_errors(group, metric),
            capsize=3,
            color=[colours[p] for p in group["placement"]],
        )
        for xi, (name, crowded) in zip(x, zip(group["name"], group.duplicated("placement", keep=False))):
            if crowded:
                ax.text(xi, 0, f" {name}", rotation=90, ha="center", va="bottom", fontsize=6)
    handles = [Patch(color=c, label=str(p)) for p, c in colours.items()]
    for _, base in baselines.iterrows():
        line = ax.axhline(base[metric], color="black", linestyle="--", linewidth=1, label=str(base["name"]))
        handles.append(line)
        if pd.notna(base[f"{metric}_lo"]):
            ax.axhspan(base[f"{metric}_lo"], base[f"{metric}_hi"], color=line.get_color(), alpha=0.08)
    ax.set_xticks(range(len(attentions)), attentions, rotation=30, ha="right")
    ax.set_ylabel(metric)
    ax.legend(handles=handles, title="placement", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path)
    return path


def epoch_curves(history: pd.DataFrame, configs: pd.DataFrame, metric: str, path: Path) -> Path | None:
    """Per-epoch ``metric`` (from MLflow's metric history), one line per config, mean over seeds."""
    if history.empty:
        return None
    names = configs.set_index("group_hash")["name"]
    fig, ax = _figure()
    for group, part in history.groupby("group_hash", sort=False):
        mean = part.groupby("epoch")["value"].mean()
        ax.plot(mean.index, mean.to_numpy(), marker=".", label=str(names.get(group, group)))
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{metric} (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.savefig(path)
    return path
