"""A plain ``postgresql://`` tracking URI works with the installed driver (psycopg2), on the client
(``resolve_uri``, used before every ``MlflowClient``) and for the server (scripts/mlflow_server.sh).

SQLAlchemy >= 2.1 maps ``postgresql://`` to psycopg 3, which is not installed. No server is
needed: ``sqlalchemy.create_engine`` loads the dialect's driver but does not connect.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import sqlalchemy

from ablation.track.store import resolve_uri

ROOT = Path(__file__).resolve().parents[2]
PLAIN = "postgresql://mlflow:secret@dbhost:5432/mlflow"
DRIVER = "postgresql+psycopg2://mlflow:secret@dbhost:5432/mlflow"


@pytest.mark.parametrize("uri", [PLAIN, "postgres://mlflow:secret@dbhost:5432/mlflow", DRIVER])
def test_plain_postgresql_uri_gets_the_installed_driver(uri: str) -> None:
    resolved = resolve_uri(uri)
    assert resolved == DRIVER
    engine = sqlalchemy.create_engine(resolved)  # imports the driver; no connection
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg2")
    assert resolve_uri(resolved) == resolved  # resolved again by each job: unchanged


def test_explicit_driver_and_other_stores_are_kept() -> None:
    assert resolve_uri("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_uri("http://head:5000") == "http://head:5000"
    assert resolve_uri("sqlite:////abs/mlflow.db") == "sqlite:////abs/mlflow.db"


def test_mlflow_takes_the_resolved_uri_for_a_database_store() -> None:
    from mlflow.store.db.db_types import POSTGRES
    from mlflow.utils.uri import get_uri_scheme

    assert get_uri_scheme(resolve_uri(PLAIN)) == POSTGRES  # MLflow's SQLAlchemy store, not "unsupported"


def test_server_script_passes_the_same_uri_to_mlflow_server(tmp_path: Path) -> None:
    """scripts/mlflow_server.sh with stand-ins for python and mlflow that record their arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("python", "mlflow"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\ncat >/dev/null\necho "{tool} $*" >>"{tmp_path}/calls"\n')
        stub.chmod(0o755)
    env = {**os.environ, "MLFLOW": str(bin_dir / "mlflow")}
    subprocess.run(
        ["bash", ROOT / "scripts/mlflow_server.sh", PLAIN, tmp_path / "artifacts", "5999"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].split()[1:3] == ["-", resolve_uri(PLAIN)]  # the schema check before the workers start
    server = calls[1].split()
    assert server[server.index("--backend-store-uri") + 1] == resolve_uri(PLAIN)
