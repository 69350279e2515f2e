"""Many jobs starting at the same instant on a SQLite store that does not exist yet: the schema,
the experiment and each first write happen once and nothing fails (mlflow #12259)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ablation.track import Store

from .writers import first_use, run_all

JOBS = 8


@pytest.mark.slow  # spawns processes
def test_fresh_sqlite_store_under_concurrent_starts(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    start_at = time.time() + 20  # after every process has imported MLflow
    codes = run_all(first_use, [(uri, "race", start_at, i) for i in range(JOBS)])
    assert codes == [0] * JOBS
    store = Store(uri, "race")
    assert [e.name for e in store.client.search_experiments()].count("race") == 1
    runs = store.runs()
    assert sorted(int(r.data.params["index"]) for r in runs) == list(range(JOBS))
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert runs[0].info.artifact_uri.startswith((tmp_path / "new" / "mlartifacts" / "race").as_uri())
