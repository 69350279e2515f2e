"""``python -m ablation.export``: MLflow runs → CSV.

One row per config (mean and 95 % interval over seeds, paired difference to the baseline,
verdict), or with ``raw=true`` one row per run (config and seed: the newest FINISHED try, else
the newest) with its status and its difference to the baseline of the same seed.
Options (Hydra-style): ``tracking.uri=... tracking.experiment=... out=results/ablation.csv raw=false``.
"""

from __future__ import annotations

from pathlib import Path

from ablation.config.compose import compose_command
from ablation.report.summary import Summary, summarise_command
from ablation.report.table import format_table, power_line


def write_csv(summary: Summary, path: Path, raw: bool = False) -> Path:
    """The configs frame (or with ``raw`` the runs frame) as CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = summary.runs.drop(columns="start_time", errors="ignore") if raw else summary.configs
    frame.to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    cfg = compose_command("export", argv)
    if cfg is None:
        return 2
    out = Path(str(cfg.out))
    summary = summarise_command(cfg)
    if summary is None:
        return 2
    write_csv(summary, out, raw=bool(cfg.raw))
    if summary.runs.empty:
        print(f"no runs in experiment '{cfg.tracking.experiment}'")
    else:
        print(format_table(summary.configs, summary.metric))
        print(power_line(summary))
    rows = len(summary.runs) if cfg.raw else len(summary.configs)
    print(f"\n{rows} {'runs' if cfg.raw else 'configs'} written to {out}")
    return 0
