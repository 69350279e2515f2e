"""Stores for many nodes: the refusal before anything is submitted, the reachability check, the
dashboard link, and where a SQLite store keeps its artifacts."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from ablation.config.compose import CONF_DIR
from ablation.sweep.core import SweepError, check_tracking
from ablation.track import Store
from ablation.track.remote import TrackingError, check_reachable, check_store, dashboard

SLURM = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
BASIC = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


@pytest.fixture
def http_server() -> Iterator[callable]:
    """A real HTTP server on 127.0.0.1 that answers every GET with the status it is given."""
    servers: list[http.server.HTTPServer] = []

    def start(status: int, body: bytes = b"") -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.mark.parametrize("uri", ["sqlite:////shared/mlflow.db", "file:///shared/mlruns"])
def test_slurm_refuses_single_host_stores(uri: str) -> None:
    with pytest.raises(
        TrackingError,
        match=rf"^hydra/launcher=slurm runs jobs on other nodes, but tracking.uri {uri} "
        r"is a single-host store .* pass tracking.uri=http://HOST:PORT\.$",
    ):
        check_store(uri, "ablation", SLURM, "slurm")


def test_local_launchers_keep_sqlite(tmp_path: Path) -> None:
    check_store(f"sqlite:///{tmp_path}/mlflow.db", "ablation", BASIC, "basic")  # no exception, nothing created
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_is_refused_in_seconds() -> None:
    uri = f"http://127.0.0.1:{closed_port()}"
    start = time.monotonic()
    with pytest.raises(
        TrackingError,
        match=rf"^the MLflow tracking server {uri} cannot be reached \(connection refused\); "
        r"start it \(scripts/mlflow_server.sh\) or fix tracking.uri\.$",
    ):
        check_store(uri, "ablation", SLURM, "slurm")
    assert time.monotonic() - start < 5  # one request, no retries (MLflow's would take minutes)


def test_server_that_answers_with_an_error_is_refused(http_server) -> None:
    uri = http_server(503, b"database unavailable")
    with pytest.raises(
        TrackingError, match=r"answered HTTP 503 \(database unavailable\); check the server and its database\.$"
    ):
        check_reachable(uri, "ablation")


@pytest.mark.parametrize("status", [200, 404])  # 404: the experiment does not exist yet
def test_server_that_answers_is_accepted(http_server, status: int) -> None:
    check_reachable(http_server(status, b"{}"), "ablation")


def test_sweep_refuses_slurm_with_sqlite_before_planning(tmp_path: Path) -> None:
    """The sweep's own check, on the config Hydra composes for `hydra/launcher=slurm`."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        config = compose(
            "run",
            ["hydra/launcher=slurm", f"tracking.uri={uri}", f"hydra.sweep.dir={tmp_path}"],
            return_hydra_config=True,
        )
    with pytest.raises(
        SweepError,
        match=rf"^hydra/launcher=slurm runs jobs on other nodes, but tracking.uri {uri} is a single-host store",
    ):
        check_tracking(config)
    assert not (tmp_path / "mlflow.db").exists()


def test_dashboard_links_to_the_runs_table() -> None:
    assert dashboard("http://head:5000/", "7") == [
        "Dashboard: http://head:5000/#/experiments/7/runs?workflowType=machine_learning"
    ]
    command, link = dashboard("sqlite:////data/mlflow.db", "3")
    assert command.startswith("Dashboard: ") and command.endswith(
        "mlflow ui --backend-store-uri sqlite:////data/mlflow.db"
    )
    assert link == "  then open http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning"


def test_sqlite_store_keeps_artifacts_beside_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launch = tmp_path / "launch"
    launch.mkdir()
    monkeypatch.chdir(launch)
    store = Store(f"sqlite:///{tmp_path}/store/mlflow.db", "my exp/1")
    run_id = store.start("r", tags={})
    (tmp_path / "note.txt").write_text("x")
    store.log_artifact(run_id, tmp_path / "note.txt", "folder")
    saved = tmp_path / "store" / "mlartifacts" / "my_exp_1" / run_id / "artifacts" / "folder" / "note.txt"
    assert saved.read_text() == "x"
    assert list(launch.iterdir()) == []  # no mlruns/ where the command was launched
    assert store.dashboard()[1].endswith(f"/#/experiments/{store.experiment_id}/runs?workflowType=machine_learning")


def test_a_sweep_checks_its_store_once_and_creates_a_new_one_after_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweeper's order: ``open_store`` (the one check), ``triage``, planning, ``start_sweep``.
    A server check costs a connection and an API request; a new SQLite file must not exist
    before planning has passed (bad input leaves no file)."""
    import ablation.track.remote as remote
    from ablation.sweep.core import open_store, start_sweep, triage

    checks: list[str] = []
    real = remote.check_store
    monkeypatch.setattr(remote, "check_store", lambda uri, *a: checks.append(uri) or real(uri, *a))
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        config = compose(
            "run",
            [f"tracking.uri={uri}", f"hydra.sweep.dir={tmp_path}", "verdict.correction=bh"],
            return_hydra_config=True,
        )
    store = open_store(config)
    grid = triage(store, ["entry"], stale_after_s=60)  # type: ignore[list-item] - nothing is read from it
    assert store is None and grid.todo == ["entry"] and not (tmp_path / "mlflow.db").exists()
    sweep = start_sweep(config, store, ["attention=se"], tmp_path, grid)
    assert (tmp_path / "mlflow.db").is_file() and sweep.store.runs()[0].info.run_id == sweep.run_id
    assert sweep.verdict == {"correction": "bh", "alpha": config.verdict.alpha}
    again = open_store(config)  # an existing store is opened, not left for later
    assert again is not None and triage(again, [], stale_after_s=60).todo == []
    assert checks == [uri, uri]  # once per open_store, never from triage or start_sweep
