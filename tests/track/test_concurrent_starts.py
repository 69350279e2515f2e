"""Many jobs starting at the same instant on a SQLite store that does not exist yet: the schema,
the experiment and each first write happen once and nothing fails (mlflow #12259)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.track.writers import concurrent_first_use


@pytest.mark.slow  # spawns processes
def test_fresh_sqlite_store_under_concurrent_starts(tmp_path: Path) -> None:
    runs = concurrent_first_use(f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}", "race", jobs=8)
    assert runs[0].info.artifact_uri.startswith((tmp_path / "new" / "mlartifacts" / "race").as_uri())
