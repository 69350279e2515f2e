"""``python -m ablation.plan model=yolov5s attention=se,simam placement=neck,after_c3 out=DIR``

Writes ``DIR/<name>.yaml`` per grid entry and ``DIR/plan.csv``, prints the table, and exits
non-zero if any entry cannot be planned or fails its preflight (the others are still written).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from .grid import ConfigError, expand
from .planner import COLUMNS, PlanRow, as_records, plan
from .report.table import format_table

USAGE = __doc__ or ""


def write_csv(rows: list[PlanRow], path: Path) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(as_records(rows))
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in args):
        print(USAGE.strip())
        return 0
    try:
        entries = expand("plan", args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    cfg = entries[0].cfg
    out = Path(str(cfg.out)).expanduser()
    rows = plan(entries, out, cfg.preflight)
    csv_path = write_csv(rows, out / "plan.csv")
    print(format_table(as_records(rows), [c for c in COLUMNS if c != "error"]))
    failed = [r for r in rows if not r.ok]
    for r in failed:
        print(f"FAILED {r.name}: {r.error}", file=sys.stderr)
    print(f"\n{len(rows) - len(failed)}/{len(rows)} entries planned; yamls and plan.csv in {csv_path.parent}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
