"""``python -m ablation.report [tracking.uri=...] [tracking.experiment=...] [out=results] [metric=mAP50-95]``"""

from __future__ import annotations

from pathlib import Path

from .page import write_report
from .summary import compose_command, summarise
from .table import format_table


def main(argv: list[str] | None = None) -> int:
    cfg = compose_command("report", argv)
    if cfg is None:
        return 2
    summary = summarise(cfg.tracking.uri, str(cfg.tracking.experiment), str(cfg.metric),
                        resamples=int(cfg.bootstrap.resamples), seed=int(cfg.bootstrap.seed))
    print(format_table(summary.configs, summary.metric) if not summary.configs.empty
          else f"no runs in experiment '{cfg.tracking.experiment}'")
    page, *figures = write_report(summary, Path(str(cfg.out)))
    print(f"\nreport: {page} ({len(figures)} figures)")
    return 0
