"""Parallel jobs write into one SQLite MLflow store: no metric may be lost to a lock."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from ablation.track import Store

WRITERS, EPOCHS, KEYS = 3, 10, ("a", "b", "c", "d", "e", "f", "g", "h")


def write(uri: str, run_id: str) -> None:
    store = Store(uri, "parallel")
    for epoch in range(EPOCHS):
        store.log_metrics(run_id, {k: epoch + i for i, k in enumerate(KEYS)}, step=epoch)
    store.log_params(run_id, {"done": "yes"})


@pytest.mark.slow  # spawns writer processes
def test_parallel_writers_lose_nothing(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store = Store(uri, "parallel")  # the sweep creates the store and experiment once, up front
    runs = [store.start(f"job{i}", tags={}) for i in range(WRITERS)]
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=write, args=(uri, run_id)) for run_id in runs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    for run_id in runs:
        for i, key in enumerate(KEYS):
            history = store.client.get_metric_history(run_id, key)
            assert sorted((m.step, m.value) for m in history) == [(e, float(e + i)) for e in range(EPOCHS)]
        assert store.client.get_run(run_id).data.params["done"] == "yes"
