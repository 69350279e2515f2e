"""``report.html`` with its PNGs beside it (relative paths: the folder can be moved or zipped)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ablation.report import glance, plots
from ablation.report.runs import epoch_history
from ablation.report.stats import ranking_changes
from ablation.report.summary import Summary
from ablation.report.table import display_frame, power_line
from ablation.track.schema import RUNTIMES

VERDICTS = ("better", "worse", "no evidence", "single seed", "baseline", "no baseline", "failed")
RUN_COLUMNS = [
    "name",
    "seed",
    "status",
    "mAP50",
    "mAP50-95",
    "coco/AP",
    "delta_mAP50",
    "delta_mAP50-95",
    *(runtime.ms for runtime in RUNTIMES),
    "error",
]
STYLE = """
body { font-family: "DejaVu Sans", sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 13px; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
td.better { background: #d9f2d9; } td.worse { background: #f7d4d4; } td.failed { background: #eee; color: #a00; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
p.caption { font-size: 12px; color: #555; margin-top: 0; }
"""
METHOD = (
    "Intervals of the metrics are 95 % t-intervals over seeds (mean ± t<sub>0.975, n-1</sub>·s/√n). Δ is the "
    "paired difference to the baseline trained with the same seed (same model, data and training settings), "
    "averaged over seeds. Every config with two or more paired seeds is one comparison of the table's family: "
    "p is its two-sided paired t-test over seeds, <i>p adj</i> the same corrected for the family ({correction}). "
    "Verdict: <b>better</b> / <b>worse</b> when p adj ≤ {alpha:g}, <b>no evidence</b> otherwise (the difference "
    'is within seed noise at this family size — not "no difference"). The interval of Δ is the t-interval at '
    "the level that comparison was tested at (column <i>CI level</i>; {intervals}), so it excludes 0 exactly when "
    "the verdict is better / worse. <i>min detectable Δ</i>: the smallest Δ that config's seeds detect with 80 % "
    "power at the family's threshold, from the paired seed spread pooled over the table. One paired seed is never "
    "a verdict (<b>single seed</b>): the paired bootstrap over validation images (COCO-style AP recomputed on "
    "each resample, labelled with that metric) is shown as information; it covers the sampling of validation "
    "images only, not training noise."
)
INTERVALS = {
    "holm": "Holm tests the k-th smallest p at α/(m−k+1); configs it does not reject get the level of the step "
    "where it stopped, Bonferroni's simultaneous α/m when it rejects none",
    "bh": "Benjamini-Yekutieli's false-coverage-rate intervals at R·α/m for R rejections, α/m when R = 0",
    "none": "95 % per comparison, no correction",
}


def write_report(summary: Summary, out: Path) -> list[Path]:
    """``out/report.html`` and its figures; returns their paths, the HTML first."""
    out.mkdir(parents=True, exist_ok=True)
    configs, metric = summary.configs, summary.metric
    figures: list[tuple[str, Path | None, str]] = []  # title, PNG (None: nothing to draw), caption
    if not configs.empty:
        history = epoch_history(summary.uri, summary.runs, "mAP50")
        glance_note = f"{glance.LEGEND}. Δ and verdict are the table's (correction: {summary.correction})."
        figures = [
            *(
                (f"Δ {metric} at a glance: {model}", path, glance_note)
                for model, path in glance.heatmaps(configs, metric, out)
            ),
            (
                f"Δ {metric} of every config with its family interval",
                glance.forest(configs, metric, out / "forest.png"),
                "The table's Δ and interval (column CI level), ordered by Δ; open markers: one paired seed, no interval.",
            ),
            (f"{metric} vs GFLOPs", plots.cost_scatter(configs, "gflops", metric, out / "pareto_gflops.png"), ""),
            *(
                (
                    f"{metric} vs {runtime.name} latency",
                    plots.cost_scatter(configs, runtime.ms, metric, out / f"pareto_{runtime.stem}.png"),
                    ranking_changes(configs, runtime),
                )
                for runtime in RUNTIMES
            ),
            (
                f"{metric} per attention module and placement",
                plots.by_attention(configs, metric, out / "by_attention.png"),
                "",
            ),
            ("mAP50 per epoch", plots.epoch_curves(history, configs, "mAP50", out / "epochs.png"), ""),
        ]
    body = [
        f"<h1>Ablation report: {html.escape(summary.experiment)}</h1>",
        f"<p>MLflow {html.escape(summary.uri)}; verdicts on {html.escape(metric)}.</p>",
        _table(display_frame(configs, metric)) if not configs.empty else "<p>No runs.</p>",
        f"<p><b>{html.escape(power_line(summary))}</b></p>" if not configs.empty else "",
        "<p>"
        + METHOD.format(correction=summary.correction, alpha=summary.alpha, intervals=INTERVALS[summary.correction])
        + "</p>",
    ]
    for title, path, caption in figures:
        body.append(f"<h2>{html.escape(title)}</h2>")
        body.append(
            f'<img src="{html.escape(path.name)}" alt="{html.escape(title)}">'
            if path
            else "<p>Nothing to draw: not logged by any run, or no config has a paired baseline.</p>"
        )
        if path and caption:
            body.append(f'<p class="caption">{html.escape(caption)}</p>')
    if not summary.runs.empty:
        runs = summary.runs.reindex(columns=RUN_COLUMNS).sort_values(["name", "seed"])
        body += ["<h2>Runs</h2>", _table(runs.round(4).astype(object).fillna(""))]
    page = out / "report.html"
    page.write_text(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Ablation report: '
        f"{html.escape(summary.experiment)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return [page, *(path for _, path, _ in figures if path)]


def _table(frame: pd.DataFrame) -> str:
    """HTML table, every cell escaped; verdict cells get a class for their colour."""
    text = frame.to_html(index=False, escape=True, border=0, na_rep="-")
    for v in VERDICTS:
        text = text.replace(f"<td>{v}</td>", f'<td class="{v.replace(" ", "-")}">{v}</td>')
    return text
