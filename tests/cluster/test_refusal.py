"""The command line a user types, refused before anything is planned or submitted: a Slurm sweep
into a single-host store, or into a tracking server that does not answer (within 30 s; MLflow's
own retries used to hang it for minutes). In the fast suite: a real command line, about 10 s each."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.cluster.conftest import ROOT

# no GPUs asked: on a machine with a CPU-only Slurm (make cluster-test) the partition check passes
GRID = ["attention=se", "placement=neck", "experiment=demo", "hydra/launcher=slurm", "hydra.launcher.gpus_per_node=0"]


def refused(tmp_path: Path, uri: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ablation.run", *GRID, f"tracking.uri={uri}", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, time.monotonic() - start


def test_unreachable_server_is_refused_within_30_s(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done, seconds = refused(tmp_path, f"http://127.0.0.1:{port}")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: the MLflow tracking server http://127.0.0.1:{port} cannot be reached (connection refused); "
        "start it (scripts/mlflow_server.sh) or fix tracking.uri."
    )
    assert seconds < 30, seconds
    assert not (tmp_path / "sweep" / "plan").exists() and not (tmp_path / "sweep" / ".submitit").exists()
    print(f"refused after {seconds:.1f} s")


def test_sqlite_store_is_refused_for_slurm(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done, _ = refused(tmp_path, uri)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"error: hydra/launcher=slurm runs jobs on other nodes, but tracking.uri {uri} is a single-host store"
        )
    )
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "sweep" / "plan").exists()
