"""``python -m ablation.export``: MLflow runs → one tidy CSV row per config, deltas vs baseline.

Options (Hydra-style): ``tracking.uri=... tracking.experiment=... out=results/ablation.csv``.
Several runs of one config (a failed try, then a finished one) collapse to the newest FINISHED.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .table import format_table

COLUMNS = [
    "name", "model", "attention", "placement", "seed", "epochs", "imgsz",
    "mAP50", "mAP50-95", "precision", "recall", "params", "gflops", "train_seconds", "status",
    "delta_mAP50", "delta_mAP50-95",
]
DISPLAY = [c for c in COLUMNS if c not in ("seed", "epochs", "imgsz")]


def rows_from_runs(runs: Iterable[Any]) -> list[dict[str, Any]]:
    newest: dict[str, Any] = {}
    for run in sorted(runs, key=lambda r: (r.info.status == "FINISHED", r.info.start_time)):
        key = run.data.tags.get("config_hash")
        if key:
            newest[key] = run  # FINISHED and newer runs sort last and win
    rows = [_row(run) for run in newest.values()]
    by_hash = {run.data.tags["config_hash"]: row for run, row in zip(newest.values(), rows)}
    for run, row in zip(newest.values(), rows):
        base = by_hash.get(run.data.tags.get("baseline_hash", ""))
        for metric in ("mAP50", "mAP50-95"):
            ok = base is not None and isinstance(base[metric], float) and isinstance(row[metric], float)
            row[f"delta_{metric}"] = round(row[metric] - base[metric], 5) if ok else ""
    return sort_rows(rows)


def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["mAP50-95"] if isinstance(r["mAP50-95"], float) else 1.0, r["name"]))


def _row(run: Any) -> dict[str, Any]:
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics

    def metric(key: str, digits: int = 5) -> Any:
        return round(float(metrics[key]), digits) if key in metrics else ""

    return {
        "name": tags.get("mlflow.runName", run.info.run_name),
        "model": tags.get("model", ""), "attention": tags.get("attention", ""),
        "placement": tags.get("placement", ""), "seed": params.get("seed", ""),
        "epochs": params.get("train.epochs", ""), "imgsz": params.get("train.imgsz", ""),
        "mAP50": metric("mAP50"), "mAP50-95": metric("mAP50-95"),
        "precision": metric("precision"), "recall": metric("recall"),
        "params": int(metrics["params"]) if "params" in metrics else "",
        "gflops": metric("gflops", 3), "train_seconds": metric("train_seconds", 1),
        "status": run.info.status, "delta_mAP50": "", "delta_mAP50-95": "",
    }


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def table(rows: list[dict[str, Any]]) -> str:
    return format_table(rows, DISPLAY)


def export(uri: str | None, experiment: str, out: Path) -> list[dict[str, Any]]:
    from ..track import Store

    store = Store(uri, experiment)
    rows = rows_from_runs(r for r in store.runs() if "config_hash" in r.data.tags)
    write_csv(rows, out)
    return rows


def main(argv: list[str] | None = None) -> int:
    from ..grid import compose_checked, ConfigError, CONF_DIR
    from hydra import initialize_config_dir

    args = sys.argv[1:] if argv is None else argv
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose_checked("export", args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(str(cfg.out))
    rows = export(cfg.tracking.uri, str(cfg.tracking.experiment), out)
    print(table(rows) if rows else f"no runs in experiment '{cfg.tracking.experiment}'")
    print(f"\n{len(rows)} configs written to {out}")
    return 0
