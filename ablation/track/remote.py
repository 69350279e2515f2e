"""Stores seen from many nodes: which stores a cluster launcher may use, whether a tracking
server answers, and the dashboard link users should open.

A job array on Slurm writes from many hosts at once. SQLite (WAL needs one host; on NFS it
corrupts) and MLflow's file store cannot take that, so a cluster sweep needs ``mlflow server``
on a database (``scripts/mlflow_server.sh``). MLflow's HTTP client retries a failed request with
exponential backoff for about four minutes (``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` = 7): that is
what lets a sweep ride out a server restart, but it also made a sweep against a server that is
not there hang for minutes. So the sweep asks the server once, without retries and with a short
timeout, before it plans or submits anything; the jobs keep MLflow's retries.
"""

from __future__ import annotations

import shutil
import socket
import sys
from urllib.parse import urlsplit

# Hydra launchers whose jobs run on other hosts (hydra/launcher=slurm and submitit_slurm).
MULTI_NODE_LAUNCHERS = ("hydra_submitit_launcher.submitit_launcher.SlurmLauncher",)
REACH_TIMEOUT_S = 5  # one request, no retry: a refusal comes within seconds
RUNS_VIEW = "#/experiments/{id}/runs?workflowType=machine_learning"  # MLflow 3 opens the GenAI view otherwise
LOCAL_UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default


class TrackingError(RuntimeError):
    """The configured store cannot serve this sweep; nothing has been submitted."""


def is_server(uri: str) -> bool:
    return urlsplit(uri).scheme in ("http", "https")


def is_multi_node(launcher_target: str | None) -> bool:
    return bool(launcher_target) and str(launcher_target).endswith(MULTI_NODE_LAUNCHERS)


def check_store(uri: str, experiment: str, launcher_target: str | None = None, launcher_name: str = "") -> None:
    """Raise ``TrackingError`` (one sentence) when jobs on other nodes would write to a single-host
    store, or when a tracking server does not answer."""
    if is_multi_node(launcher_target) and not is_server(uri):
        launcher = f"hydra/launcher={launcher_name}" if launcher_name else "this launcher"
        raise TrackingError(
            f"{launcher} runs jobs on other nodes, but tracking.uri {uri} is a single-host store "
            "(SQLite and file stores break when many hosts write to them); start an MLflow server on "
            "a database (scripts/mlflow_server.sh) and pass tracking.uri=http://HOST:PORT."
        )
    if is_server(uri):
        check_reachable(uri, experiment)


def check_reachable(uri: str, experiment: str, timeout: float = REACH_TIMEOUT_S) -> None:
    """A TCP connection first (no MLflow import: a refusal comes fast even on a busy machine), then
    one request to the server's REST API, no retries: raise ``TrackingError`` unless it answers."""
    parts = urlsplit(uri)
    try:
        socket.create_connection(
            (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)), timeout
        ).close()
    except OSError as err:
        raise TrackingError(
            f"the MLflow tracking server {uri} cannot be reached ({_reason(err)}); start it "
            "(scripts/mlflow_server.sh) or fix tracking.uri."
        ) from None
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    try:
        response = http_request(
            get_default_host_creds(uri),
            "/api/2.0/mlflow/experiments/get-by-name",
            "GET",
            max_retries=0,
            timeout=timeout,
            raise_on_status=False,
            params={"experiment_name": experiment},
        )
    except Exception as err:
        raise TrackingError(
            f"the MLflow tracking server {uri} cannot be reached ({_reason(err)}); start it "
            "(scripts/mlflow_server.sh) or fix tracking.uri."
        ) from None
    if response.status_code >= 400 and response.status_code != 404:  # 404: no such experiment yet
        raise TrackingError(
            f"the MLflow tracking server {uri} answered HTTP {response.status_code} "
            f"({response.text.strip()[:200] or 'no detail'}); check the server and its database."
        )


def dashboard(uri: str, experiment_id: str | None) -> list[str]:
    """How to open this store's runs table: the direct link (and for a local store the command
    that serves it first)."""
    view = RUNS_VIEW.format(id=experiment_id) if experiment_id is not None else ""
    if is_server(uri):
        return [f"Dashboard: {uri.rstrip('/')}/{view}"]
    return [f"Dashboard: {ui_command(uri)}", f"  then open {LOCAL_UI}/{view}"]


def ui_command(uri: str) -> str:
    mlflow = (
        "mlflow" if shutil.which("mlflow") == shutil.which("mlflow", path=_bin_dir()) else f"{sys.executable} -m mlflow"
    )
    return f"{mlflow} ui --backend-store-uri {uri}"


def _bin_dir() -> str:
    from pathlib import Path

    return str(Path(sys.executable).parent)


def _reason(err: Exception) -> str:
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, socket.gaierror):
        return "unknown host"
    if isinstance(err, (socket.timeout, TimeoutError)):
        return "timed out"
    text = str(err)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "No route to host",
        "Connection reset",
    ):
        if marker.lower() in text.lower():
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(err).__name__
