"""The report at a glance: per model a heatmap of the paired Δ (attention module × placement) with
the family's verdict in each cell, and a forest plot of every Δ with its family interval.

Both only draw columns of the configs frame (``stats.configs_frame``): ``delta_<metric>`` (the mean
paired difference the table shows), ``family_lo`` / ``family_hi`` (the interval at the level the
comparison was tested at) and ``verdict`` (from the family-wise adjusted p-value). Nothing is
recomputed here. The matrices are functions of their own (``grids``, ``forest_frame``) so that a
test can compare every cell with the table.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ablation.report import plots
from ablation.report.stats import BASELINE, BETTER, FAILED_VERDICT, NO_BASELINE, NO_EVIDENCE, SINGLE_SEED, WORSE

# the mark of each verdict in a heatmap cell; a single paired seed is hatched and never a verdict
MARKS = {
    BETTER: "▲",
    WORSE: "▼",
    NO_EVIDENCE: "○",
    SINGLE_SEED: "n=1",
    NO_BASELINE: "no base",
    FAILED_VERDICT: "failed",
}
COLOURS = {BETTER: "C2", WORSE: "C3", NO_EVIDENCE: "0.35", SINGLE_SEED: "0.6"}
LEGEND = (
    "▲ better, ▼ worse (family-wise adjusted p ≤ α), ○ no evidence (within seed noise, not 'no difference'); "
    "hatched n=1: one paired seed, no verdict"
)


@dataclass(frozen=True)
class Grid:
    """One model's heatmap: rows are attention modules (with a swept argument when there is one),
    columns placements; ``delta`` is NaN where no config or no Δ, ``verdict`` "" where no config."""

    model: str
    delta: pd.DataFrame
    verdict: pd.DataFrame
    names: pd.DataFrame  # the config's name in each cell ("" where none)

    def single_seed(self) -> list[tuple[str, str]]:
        """(row, placement) of the cells with one paired seed."""
        cells = self.verdict.stack()
        return [key for key, value in cells.items() if value == SINGLE_SEED]


def row_label(row: pd.Series) -> str:
    """The attention module, plus what ``grid.name_uniquely`` appended to the config's name
    (``yolov5n-se-neck-reduction=8`` → ``se-reduction=8``)."""
    prefix = f"{row['model']}-{row['attention']}-{row['placement']}"
    name = str(row["name"])
    return str(row["attention"]) + (name[len(prefix) :] if name.startswith(prefix) else "")


def grids(configs: pd.DataFrame, metric: str) -> list[Grid]:
    """One ``Grid`` per model, the baselines left out (they are the 0 every cell is against)."""
    shown = configs[configs["verdict"] != BASELINE].copy()
    if shown.empty:
        return []
    shown["model"] = shown["model"].fillna("-").astype(str)
    shown["row"] = [row_label(r) for _, r in shown.iterrows()]
    out = []
    for model, part in shown.groupby("model", sort=False):
        rows = sorted(dict.fromkeys(part["row"]))
        columns = list(dict.fromkeys(part["placement"].astype(str)))
        cells = part.assign(placement=part["placement"].astype(str)).set_index(["row", "placement"])
        if cells.index.has_duplicates:  # two configs in one cell: the row label must tell them apart
            cells = part.assign(row=part["name"], placement=part["placement"].astype(str))
            rows = sorted(cells["row"])
            cells = cells.set_index(["row", "placement"])

        shape = (cells, rows, columns)
        out.append(
            Grid(
                str(model),
                _pivot(*shape, f"delta_{metric}", None),
                _pivot(*shape, "verdict", ""),
                _pivot(*shape, "name", ""),
            )
        )
    return out


def _pivot(cells: pd.DataFrame, rows: list, columns: list, column: str, fill: object) -> pd.DataFrame:
    frame = cells[column].unstack("placement").reindex(index=rows, columns=columns)
    return frame.fillna(fill) if fill is not None else frame.astype(float)


def heatmap(grid: Grid, metric: str, path: Path, limit: float | None = None) -> Path:
    """The grid's Δ as colour (diverging, centred on 0, ±``limit``), each cell's Δ and verdict mark
    written in it, single-seed cells hatched."""
    from matplotlib.colors import CenteredNorm
    from matplotlib.patches import Rectangle

    values = grid.delta.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    limit = limit or (float(np.abs(finite).max()) if finite.size else 0.0) or 1e-6
    rows, columns = grid.delta.shape
    width = 2.5 + 1.3 * columns + 0.06 * max(len(r) for r in grid.delta.index)
    fig, ax = plots._figure(width, 2.2 + 0.42 * rows)
    cmap = _colormap()
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=CenteredNorm(0.0, limit), aspect="auto")
    for i in range(rows):
        for j in range(columns):
            v, verdict = values[i, j], grid.verdict.iat[i, j]
            if not verdict:
                continue
            number = f"{v:+.3f}\n" if np.isfinite(v) else ""
            strong = np.isfinite(v) and abs(v) > 0.6 * limit
            ax.text(j, i, number + MARKS.get(verdict, verdict), ha="center", va="center", fontsize=8,
                    color="white" if strong else "black")  # fmt: skip
            if verdict == SINGLE_SEED:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", edgecolor="0.4", lw=0))
    ax.set_xticks(range(columns), list(grid.delta.columns), rotation=30, ha="right")
    ax.set_yticks(range(rows), list(grid.delta.index))
    ax.set_xlabel("placement\n\n" + "\n".join(textwrap.wrap(LEGEND, int(12 * width))), fontsize=8)
    ax.set_title(f"{grid.model}: Δ {metric} vs its baseline (paired, mean over seeds)", fontsize=9)
    fig.colorbar(image, ax=ax, label=f"Δ {metric}", shrink=0.9)
    fig.savefig(path)
    return path


def _colormap():
    from matplotlib import colormaps

    return colormaps["RdBu"].with_extremes(bad="0.92")  # grey: a cell without Δ (failed, no baseline)


def heatmaps(configs: pd.DataFrame, metric: str, out: Path) -> list[tuple[str, Path]]:
    """``heatmap_<model>.png`` per model, one colour scale for all of them: (model, path)."""
    every = grids(configs, metric)
    deltas = np.concatenate([g.delta.to_numpy(dtype=float).ravel() for g in every]) if every else np.array([])
    deltas = deltas[np.isfinite(deltas)]
    limit = float(np.abs(deltas).max()) if deltas.size else None
    return [(g.model, heatmap(g, metric, out / f"heatmap_{_file_part(g.model)}.png", limit)) for g in every]


def forest_frame(configs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Every config with a Δ, ascending: name, delta, family_lo, family_hi (NaN for one paired
    seed), family_confidence, verdict."""
    shown = configs[(configs["verdict"] != BASELINE) & np.isfinite(configs[f"delta_{metric}"].to_numpy(float))]
    columns = ["name", f"delta_{metric}", "family_lo", "family_hi", "family_confidence", "verdict"]
    frame = shown[columns].rename(columns={f"delta_{metric}": "delta"})
    return frame.sort_values(["delta", "name"], kind="stable").reset_index(drop=True)


def forest(configs: pd.DataFrame, metric: str, path: Path) -> Path | None:
    """Every Δ with its family interval, ordered by Δ, a line at 0; None when no config has a Δ."""
    from matplotlib.lines import Line2D

    frame = forest_frame(configs, metric)
    if frame.empty:
        return None
    correction = str(configs["correction"].iloc[0]) if "correction" in configs else ""
    fig, ax = plots._figure(7.5, 1.4 + 0.28 * len(frame))
    y = np.arange(len(frame))
    for verdict, part in frame.groupby("verdict", sort=False):
        at = y[part.index.to_numpy()]
        delta = part["delta"].to_numpy(float)
        errors = np.vstack([delta - part["family_lo"].to_numpy(float), part["family_hi"].to_numpy(float) - delta])
        colour = COLOURS.get(str(verdict), "0.6")
        ax.errorbar(delta, at, xerr=np.nan_to_num(errors), fmt="o", capsize=3, color=colour,
                    mfc="white" if verdict == SINGLE_SEED else colour)  # fmt: skip
    ax.axvline(0.0, color="black", linewidth=1)
    labels = [f"{n} (n=1)" if v == SINGLE_SEED else str(n) for n, v in zip(frame["name"], frame["verdict"])]
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_ylim(-0.7, len(frame) - 0.3)
    ax.set_xlabel(f"Δ {metric} vs paired baseline\ninterval at the level each comparison was tested at ({correction})")
    ax.grid(axis="x", alpha=0.3)
    present = list(dict.fromkeys(frame["verdict"]))
    handles = [
        Line2D([], [], marker="o", linestyle="", color=COLOURS.get(v, "0.6"), mfc="white" if v == SINGLE_SEED else None)
        for v in present
    ]
    ax.legend(handles, [f"{v} (no interval)" if v == SINGLE_SEED else v for v in present], fontsize=7)
    fig.savefig(path)
    return path


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text) or "model"
