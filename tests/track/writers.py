"""Processes that use one MLflow store at the same time (spawned by the concurrency tests)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from typing import Any

from ablation.track import Store


def first_use(uri: str, experiment: str, start_at: float, index: int) -> None:
    """Everything a job does first, started at the same instant as its siblings: open the store,
    create (or find) the experiment, create a run, log, end it."""
    time.sleep(max(0.0, start_at - time.time()))
    store = Store(uri, experiment)
    run_id = store.start(f"job{index}", tags={"index": str(index)})
    store.log_params(run_id, {"index": index})
    store.log_metrics(run_id, {"m": float(index)}, step=0)
    store.end(run_id)


def write_history(uri: str, experiment: str, run_id: str, steps: int, delay: float) -> None:
    """One metric per step, ``delay`` seconds apart (a training job's per-epoch metrics)."""
    store = Store(uri, experiment)
    for step in range(steps):
        store.log_metrics(run_id, {"loss": 1.0 / (step + 1), "step_seen": float(step)}, step=step)
        time.sleep(delay)


def run_all(target: Callable[..., None], args: list[tuple[Any, ...]], timeout: float = 600) -> list[int | None]:
    """Start one spawned process per argument tuple; their exit codes."""
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=target, args=a) for a in args]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout)
    return [p.exitcode for p in procs]


def concurrent_first_use(uri: str, experiment: str, jobs: int) -> list[Any]:
    """``jobs`` processes through ``first_use`` at the same instant; checks that each ran, that the
    experiment exists once and holds every job's FINISHED run; returns the runs."""
    start_at = time.time() + 20  # after every process has imported MLflow
    codes = run_all(first_use, [(uri, experiment, start_at, i) for i in range(jobs)])
    assert codes == [0] * jobs, codes
    store = Store(uri, experiment)
    assert [e.name for e in store.client.search_experiments()].count(experiment) == 1
    runs = store.runs()
    assert sorted(int(r.data.params["index"]) for r in runs) == list(range(jobs))
    assert {r.info.status for r in runs} == {"FINISHED"}
    return runs
