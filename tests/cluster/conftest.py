"""The real services of a cluster sweep on this machine (root: PostgreSQL, Slurm, mlflow server),
started through the same code as ``make cluster-demo`` (scripts/cluster/demo.py)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cluster_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cluster_demo", ROOT / "scripts" / "cluster" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("starts PostgreSQL (and Slurm) as system services: run as root")


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """PostgreSQL with an empty database and ``mlflow server`` in front of it, for this module."""
    needs_root()
    demo = cluster_demo()
    services = demo.tracking_up(tmp_path_factory.mktemp("server"), database="ablation_test")
    yield services
    demo.down(services)
