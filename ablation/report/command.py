"""``python -m ablation.report [tracking.uri=...] [tracking.experiment=...] [out=results] [metric=mAP50-95]``"""

from __future__ import annotations

from pathlib import Path

from ablation.config.compose import compose_command
from ablation.report.page import write_report
from ablation.report.summary import summarise_command
from ablation.report.table import format_table, power_line


def main(argv: list[str] | None = None) -> int:
    cfg = compose_command("report", argv)
    if cfg is None:
        return 2
    summary = summarise_command(cfg)
    if summary is None:
        return 2
    print(
        format_table(summary.configs, summary.metric)
        if not summary.configs.empty
        else f"no runs in experiment '{cfg.tracking.experiment}'"
    )
    if not summary.configs.empty:
        print(power_line(summary))
    page, *figures = write_report(summary, Path(str(cfg.out)))
    print(f"\nreport: {page} ({len(figures)} figures)")
    return 0
