"""Around a sweep of jobs: checks before the first job, one parent MLflow run, a summary after.

Called by the ``ablation`` Hydra sweeper (``hydra_plugins/ablation_sweeper``); the jobs themselves
go out through whichever Hydra launcher is configured and run ``ablation.run.run``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from .data.resolve import DataError, resolve
from .report.export import rows_from_runs, table, write_csv
from .track import FAILED, FINISHED, KILLED, Store


class SweepError(RuntimeError):
    """The sweep cannot start; nothing has trained."""


@dataclass
class Sweep:
    store: Store
    run_id: str
    sweep_dir: Path


def validate_jobs(configs: Sequence[DictConfig], sweep_dir: Path) -> None:
    """Before any job: every dataset is usable (synthetic ones generated once), the store exists."""
    seen: set[str] = set()
    for cfg in configs:
        key = repr(sorted(cfg.data.items()))
        if key in seen:
            continue
        seen.add(key)
        try:
            resolve(cfg.data, sweep_dir / ".data-check")
        except DataError as err:
            raise SweepError(str(err)) from None
    stores = {(str(c.tracking.uri), str(c.tracking.experiment)) for c in configs}
    for uri, experiment in stores:
        try:
            Store(None if uri == "None" else uri, experiment).experiment_id  # noqa: B018 - creates it
        except Exception as err:  # noqa: BLE001 - one sentence instead of MLflow's traceback
            raise SweepError(
                f"cannot open MLflow tracking store {uri}: {str(err).splitlines()[0]}; check tracking.uri."
            ) from None


def plan_children(jobs_run_here: int) -> None:
    """Start each config's training child while the previous config trains, when the jobs run in
    this process one after another (the basic launcher); other launchers run them elsewhere."""
    from .train.isolate import discard_standby, expect_jobs

    expect_jobs(jobs_run_here)
    if not jobs_run_here:
        discard_standby()


def start_sweep(config: DictConfig, arguments: list[str], jobs: int) -> Sweep:
    store = Store(config.tracking.uri, str(config.tracking.experiment))
    name = f"sweep {time.strftime('%Y-%m-%d %H:%M:%S')}"
    run_id = store.start(name, tags={"sweep": "true", "command": " ".join(arguments), "jobs": str(jobs)})
    sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
    print(f"[ablation] {jobs} configs; MLflow {store.uri}, experiment '{store.experiment}', sweep run {run_id}")
    return Sweep(store, run_id, sweep_dir)


def finish_sweep(sweep: Sweep, results: Iterable[dict[str, Any]], interrupted: bool = False) -> list[dict[str, Any]]:
    """Print the table of this sweep's configs and one line per failure; return the failures.
    ``interrupted``: the jobs stopped early (Ctrl-C); the sweep run ends KILLED."""
    results = list(results)
    failed = [r for r in results if r.get("status") == FAILED]
    hashes = {r["config_hash"] for r in results if r.get("config_hash")}
    runs = [r for r in sweep.store.runs() if r.data.tags.get("config_hash") in hashes]
    rows = rows_from_runs(runs)
    if rows:
        print("\n" + table(rows))
        csv_path = write_csv(rows, sweep.sweep_dir / "results.csv")
        sweep.store.log_artifact(sweep.run_id, csv_path)
    ran = sum(r.get("status") == FINISHED for r in results)
    skipped = sum(r.get("status") == "SKIPPED" for r in results)
    print(f"\n[ablation] {ran} finished, {skipped} already done (skipped), {len(failed)} failed; "
          f"outputs in {sweep.sweep_dir}")
    for r in failed:
        print(f"FAILED {r.get('name', '?')}: {r.get('error', 'unknown error')}", file=sys.stderr)
    sweep.store.log_metrics(sweep.run_id, {"configs": len(results), "failed": len(failed)})
    if interrupted:
        print("[ablation] interrupted: the same command trains what is not FINISHED yet", file=sys.stderr)
    sweep.store.end(sweep.run_id, KILLED if interrupted else FAILED if failed else FINISHED)
    if rows:
        print("Compare in MLflow:  mlflow ui --backend-store-uri " + sweep.store.uri)
    return failed


def job_result(job: Any) -> dict[str, Any]:
    """A Hydra ``JobReturn`` as our result dict; a job that raised becomes a FAILED result."""
    from hydra.core.utils import JobStatus

    if job.status == JobStatus.COMPLETED and isinstance(job._return_value, dict):
        return job._return_value
    err = job._return_value
    name = " ".join(job.overrides or [])
    return {"name": name, "status": FAILED, "error": f"{type(err).__name__}: {err}"}


def unique_jobs(jobs: Sequence[Sequence[str]], configs: Sequence[DictConfig]) -> set[int]:
    """``id()`` of the first job of every distinct config (the same resolved config never runs twice)."""
    from omegaconf import OmegaConf

    from .grid import describe
    from .run import config_hash

    seen: set[str] = set()
    keep: set[int] = set()
    for job, cfg in zip(jobs, configs):
        task = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
        digest = config_hash(describe(task))
        if digest not in seen:
            seen.add(digest)
            keep.add(id(job))
    return keep
