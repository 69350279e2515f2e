"""The MLflow server on PostgreSQL as a cluster sweep uses it: many jobs starting at once, and a
server restart in the middle of their writes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ablation.track import Store
from tests.cluster.conftest import cluster_demo
from tests.track.writers import concurrent_first_use, write_history

pytestmark = pytest.mark.slow


def test_concurrent_starts_through_the_server(tracking_server: dict[str, Any]) -> None:
    concurrent_first_use(tracking_server["uri"], "race", jobs=8)


def test_server_restart_loses_no_metric(tracking_server: dict[str, Any]) -> None:
    """Writers keep logging while the server is stopped and started again (MLflow's client retries
    with backoff for about four minutes); every step of every writer arrives exactly once."""
    uri, steps, writers = tracking_server["uri"], 40, 3
    store = Store(uri, "restart")
    runs = [store.start(f"writer{i}", tags={}) for i in range(writers)]
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=write_history, args=(uri, "restart", run_id, steps, 0.5)) for run_id in runs]
    for p in procs:
        p.start()
    while min(len(store.client.get_metric_history(r, "loss")) for r in runs) < 5:  # they are writing
        time.sleep(1)
    demo = cluster_demo()
    demo.stop_server(tracking_server)
    down_at = time.monotonic()
    time.sleep(5)  # writers now meet a closed port
    demo.start_server(tracking_server)
    downtime = time.monotonic() - down_at
    for p in procs:
        p.join(600)
    assert [p.exitcode for p in procs] == [0] * writers
    for run_id in runs:
        history = store.client.get_metric_history(run_id, "step_seen")
        assert sorted((m.step, m.value) for m in history) == [(s, float(s)) for s in range(steps)]
    print(f"server down for {downtime:.0f} s; no metric lost")
