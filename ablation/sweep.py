"""Around a sweep of jobs: every config planned before the first trains, one parent MLflow run,
a summary after.

Called by the ``ablation`` Hydra sweeper (``hydra_plugins/ablation_sweeper``); the jobs themselves
go out through whichever Hydra launcher is configured and run ``ablation.run.run`` on the yaml
planned here (``planned=<plan>/<name>.json``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from .grid import GridEntry, expand, is_hydra_override
from .planner import COLUMNS, PlanRow, plan
from .track import FAILED, FINISHED, KILLED, Store

SKIPPED = "SKIPPED"


class SweepError(RuntimeError):
    """The sweep cannot start; nothing has trained."""


@dataclass
class Grid:
    """The expanded command line (``grid.expand``), kept so that the sweeper reuses the expansion
    the entry point made to check the command line. Keyed by the overrides less Hydra's own
    (the sweeper is handed the task's overrides only)."""

    config_name: str
    overrides: list[str]
    entries: list[GridEntry]


_expanded: Grid | None = None


def grid_for(
    config_name: str, arguments: list[str], compose_with: Callable[[list[str]], DictConfig] | None = None
) -> list[GridEntry]:
    """``grid.expand`` of this command line, once per process."""
    global _expanded
    key = [a for a in arguments if not is_hydra_override(a)]
    if _expanded is None or (_expanded.config_name, _expanded.overrides) != (config_name, key):
        _expanded = Grid(config_name, key, expand(config_name, list(arguments), compose_with))
    return _expanded.entries


@dataclass
class Sweep:
    store: Store
    run_id: str
    sweep_dir: Path
    skipped: list[dict[str, Any]] = field(default_factory=list)
    verdict: dict[str, Any] = field(default_factory=dict)  # the run's ``verdict.correction`` / ``verdict.alpha``


def open_store(config: DictConfig) -> Store:
    """The tracking store, created now (parallel jobs racing on a new SQLite store fail)."""
    store = Store(config.tracking.uri, str(config.tracking.experiment))
    try:
        store.experiment_id  # noqa: B018 - creates it
    except Exception as err:  # noqa: BLE001 - one sentence instead of MLflow's traceback
        raise SweepError(
            f"cannot open MLflow tracking store {store.uri}: {str(err).splitlines()[0]}; check tracking.uri."
        ) from None
    return store


def finished_hashes(config: DictConfig) -> set[str]:
    """``config_hash`` of the configs already FINISHED in the store (a re-run skips them); a
    SQLite store that does not exist yet is not created here."""
    from .track.store import resolve_uri

    uri = resolve_uri(config.tracking.uri)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return set()
    return open_store(config).finished_hashes()


def plan_sweep(entries: list[GridEntry], plan_dir: Path, preflight: DictConfig) -> dict[str, PlanRow]:
    """Plan every entry; one that cannot train stops the sweep before anything trains."""
    rows = plan(entries, plan_dir, preflight)
    bad = [r for r in rows if not r.ok]
    if bad:
        lines = "\n".join(f"FAILED {r.name}: {r.error}" for r in bad)
        raise SweepError(f"{len(bad)} of {len(rows)} configs cannot train; nothing was trained.\n{lines}")
    return {r.name: r for r in rows}


def plan_children(jobs_run_here: int) -> None:
    """Start each config's training child while the previous config trains, when the jobs run in
    this process one after another (the basic launcher); other launchers run them elsewhere."""
    from .train.isolate import CHILDREN

    CHILDREN.expect(jobs_run_here)
    if not jobs_run_here:
        CHILDREN.discard()


def start_sweep(store: Store, arguments: list[str], sweep_dir: Path, jobs: int, skipped: list[GridEntry]) -> Sweep:
    name = f"sweep {time.strftime('%Y-%m-%d %H:%M:%S')}"
    run_id = store.start(name, tags={"sweep": "true", "command": " ".join(arguments), "jobs": str(jobs)})
    print(f"[ablation] {jobs} configs to train, {len(skipped)} already FINISHED; MLflow {store.uri}, "
          f"experiment '{store.experiment}', sweep run {run_id}")
    done = [{"name": e.name, "status": SKIPPED, "config_hash": e.config_hash} for e in skipped]
    return Sweep(store, run_id, sweep_dir.resolve(), done)


def finish_sweep(sweep: Sweep, results: Iterable[dict[str, Any]], interrupted: bool = False) -> list[dict[str, Any]]:
    """Print the table of this sweep's configs (mean and interval over seeds, paired difference
    to the baseline, verdict), write ``results.csv`` and ``report.html`` to the sweep folder, one
    line per failure; return the failures. ``interrupted``: the jobs stopped early (Ctrl-C); the
    sweep run ends KILLED."""
    results = [*sweep.skipped, *results]
    failed = [r for r in results if r.get("status") == FAILED]
    hashes = {r["config_hash"] for r in results if r.get("config_hash")}
    reported = bool(hashes) and report_sweep(sweep, hashes)
    ran = sum(r.get("status") == FINISHED for r in results)
    skipped = sum(r.get("status") == SKIPPED for r in results)
    print(f"\n[ablation] {ran} finished, {skipped} already done (skipped), {len(failed)} failed; "
          f"outputs in {sweep.sweep_dir}")
    for r in failed:
        print(f"FAILED {r.get('name', '?')}: {r.get('error', 'unknown error')}", file=sys.stderr)
    sweep.store.log_metrics(sweep.run_id, {"configs": len(results), "failed": len(failed)})
    if interrupted:
        print("[ablation] interrupted: the same command trains what is not FINISHED yet", file=sys.stderr)
    sweep.store.end(sweep.run_id, KILLED if interrupted else FAILED if failed else FINISHED)
    if reported:
        print("Compare in MLflow:  mlflow ui --backend-store-uri " + sweep.store.uri)
    return failed


def report_sweep(sweep: Sweep, hashes: set[str]) -> bool:
    """The aggregated table of these configs on the terminal, ``results.csv`` and ``report.html``
    in the sweep folder (and as artifacts of the sweep run). A report that cannot be written is
    one warning line, not a failed sweep. False when there was nothing to report."""
    from .report.export import write_csv
    from .report.page import write_report
    from .report.summary import summarise
    from .report.table import format_table, power_line

    try:
        summary = summarise(sweep.store.uri, sweep.store.experiment, hashes=hashes, **sweep.verdict)
        if summary.configs.empty:
            return False
        print("\n" + format_table(summary.configs, summary.metric) + "\n" + power_line(summary))
        sweep.store.log_artifact(sweep.run_id, write_csv(summary, sweep.sweep_dir / "results.csv"))
        for path in write_report(summary, sweep.sweep_dir):
            sweep.store.log_artifact(sweep.run_id, path, "report")
    except Exception as err:  # noqa: BLE001 - the runs are in MLflow; `python -m ablation.report` retries
        print(f"[ablation] warning: report not written ({type(err).__name__}: {err}); "
              "run python -m ablation.report", file=sys.stderr)
    return True


def job_result(job: Any) -> dict[str, Any]:
    """A Hydra ``JobReturn`` as our result dict; a job that raised becomes a FAILED result."""
    from hydra.core.utils import JobStatus

    if job.status == JobStatus.COMPLETED and isinstance(job._return_value, dict):
        return job._return_value
    err = job._return_value
    name = " ".join(job.overrides or [])
    return {"name": name, "status": FAILED, "error": f"{type(err).__name__}: {err}"}


def print_plan(rows: list[PlanRow], out: Path) -> int:
    """``python -m ablation.plan``'s output: ``out/plan.csv``, the table, one line per failure;
    the exit code (1 if any config cannot be planned)."""
    import pandas as pd

    frame = pd.DataFrame([r.record() for r in rows], columns=COLUMNS)
    frame.to_csv(out / "plan.csv", index=False)
    print(frame.drop(columns="error").to_string(index=False))
    failed = [r for r in rows if not r.ok]
    for r in failed:
        print(f"FAILED {r.name}: {r.error}", file=sys.stderr)
    print(f"\n{len(rows) - len(failed)}/{len(rows)} entries planned; yamls and plan.csv in {out}")
    return 1 if failed else 0
