"""MLflow, through ``MlflowClient`` with explicit run ids (safe across processes).

One parent run per sweep, one child run per config. The first use of a store (a SQLite schema,
the experiment) is safe when many processes start at once: on SQLite it happens under a file lock
beside the database, and a concurrent ``create_experiment`` that loses the race (also through a
server, mlflow #12259) reads the winner's experiment. Every write is retried while SQLite reports
the database as locked, so parallel jobs never drop a metric. An experiment created in a SQLite
store keeps its artifacts beside the database (``<db folder>/mlartifacts/<experiment>``), not in
the folder the command was launched from.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ablation.config.errors import OptionError, nearest
from ablation.track.schema import CONFIG_HASH, FINISHED, PARENT_RUN_ID, RUN_NAME

T = TypeVar("T")
LOCKED = ("database is locked", "database table is locked", "busy")
PARAM_LENGTH, TAG_LENGTH = 6000, 5000  # MLflow's limits on a value: longer ones are cut
PROGRESS_BAR = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"  # MLflow's tqdm bar on every download


# SQLAlchemy >= 2.1 maps a bare postgresql:// to psycopg 3, which is not installed: our driver is
# psycopg2 (psycopg2-binary), the one MLflow's server supports for its job locks too. postgres://
# is the alias libpq, Heroku and others print; SQLAlchemy rejects it. scripts/mlflow_server.sh
# maps a server's --backend-store-uri the same way.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
POSTGRES_DRIVER = "postgresql+psycopg2://"
# The schemes of the tracking URIs MLflow serves: its SQL stores (a driver may follow a "+", e.g.
# mysql+pymysql), a tracking server, a file store, Databricks. A path without a scheme is a file store.
URI_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mssql", "http", "https", "file", "databricks")


def resolve_uri(uri: str | None) -> str:
    """MLflow's default when ``uri`` is empty; relative SQLite/file paths made absolute; a
    PostgreSQL URI without a driver given the installed one (``postgresql+psycopg2://``)."""
    if not uri:
        import mlflow  # 10 s and more on a busy machine: only when the default is asked for

        uri = mlflow.get_tracking_uri()
    if uri.startswith(POSTGRES_SCHEMES):
        return POSTGRES_DRIVER + uri.split("://", 1)[1]
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(uri[len("sqlite:///") :]).resolve())
    if "://" not in uri:
        return Path(uri).resolve().as_uri()
    return uri


def check_uri(uri: str | None) -> None:
    """``OptionError`` (one sentence naming the fix) for a ``tracking.uri`` no store can open; None
    (MLflow's default) and paths are fine. Reads no store and imports no MLflow."""
    if not uri or "://" not in str(uri):
        return
    text = str(uri)
    scheme, rest = text.split("://", 1)
    base = scheme.split("+")[0].lower()
    if base not in URI_SCHEMES:
        fixed = f"{nearest(base, URI_SCHEMES)}://{rest}"
        raise OptionError(
            f"tracking.uri={text} has the scheme {scheme}, not one of {', '.join(URI_SCHEMES)}; "
            f"the nearest is tracking.uri={fixed}."
        )
    if base == "sqlite" and not rest.startswith("/"):
        raise OptionError(
            f"tracking.uri={text} needs three slashes before its path: tracking.uri=sqlite:///{rest} "
            "(relative) or sqlite:////absolute/path.db."
        )
    if base in ("http", "https"):
        try:
            host, _ = urlsplit(text).hostname, urlsplit(text).port  # a port that is not a number raises
        except ValueError as err:
            raise OptionError(
                f"tracking.uri={text} is not a valid server address ({err}); e.g. tracking.uri=http://127.0.0.1:5000."
            ) from None
        if not host:
            raise OptionError(f"tracking.uri={text} names no host; e.g. tracking.uri=http://127.0.0.1:5000.")


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI; None for any other store."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def not_created(uri: str) -> bool:
    """A SQLite store whose file does not exist yet (opening it would create it)."""
    path = sqlite_file(uri)
    return path is not None and not path.is_file()


def retry_locked(fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> T:
        for attempt in range(60):
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                if attempt == 59 or not any(s in str(err).lower() for s in LOCKED):
                    raise
                time.sleep(0.05 + random.random() * min(2.0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")

    return wrapped


class Store:
    """The sweep's view of one MLflow experiment."""

    def __init__(self, uri: str | None, experiment: str) -> None:
        from mlflow.tracking import MlflowClient

        self.uri = resolve_uri(uri)
        self.experiment = experiment
        self._experiment_id: str | None = None
        with self._first_use():  # the client opens the store at once (and creates/migrates a new one)
            self.client = MlflowClient(tracking_uri=self.uri)

    @property
    def experiment_id(self) -> str:
        if self._experiment_id is None:
            self._experiment_id = self._ensure_experiment()
        return self._experiment_id

    @property
    def sqlite_path(self) -> Path | None:
        return sqlite_file(self.uri)

    def find_experiment_id(self) -> str | None:
        """The experiment's id, or None when it does not exist (nothing is created)."""
        if self._experiment_id is None:
            with self._first_use():
                found = retry_locked(self.client.get_experiment_by_name)(self.experiment)
            self._experiment_id = found.experiment_id if found is not None else None
        return self._experiment_id

    def dashboard(self) -> list[str]:
        """The lines that tell a user how to open this experiment's runs table."""
        from ablation.track.remote import dashboard

        return dashboard(self.uri, self.find_experiment_id())

    @retry_locked
    def _ensure_experiment(self) -> str:
        with self._first_use():
            found = self.client.get_experiment_by_name(self.experiment)
            if found is not None:
                return found.experiment_id
            return self._create_experiment()

    @contextlib.contextmanager
    def _first_use(self) -> Iterator[None]:
        """A SQLite store is created and migrated by its first client: one process at a time."""
        if self.sqlite_path is None:
            yield
            return
        self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.sqlite_path}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _create_experiment(self) -> str:
        location = None
        if self.sqlite_path is not None:  # beside the database, not in the launch folder
            folder = re.sub(r"[^\w.-]", "_", self.experiment) or "experiment"
            location = (self.sqlite_path.parent / "mlartifacts" / folder).as_uri()
        try:
            return self.client.create_experiment(self.experiment, artifact_location=location)
        except Exception:  # created by a concurrent process meanwhile
            found = self.client.get_experiment_by_name(self.experiment)
            if found is None:
                raise
            return found.experiment_id

    @retry_locked
    def start(self, name: str, tags: dict[str, str], parent: str | None = None) -> str:
        tags = {**tags, RUN_NAME: name}
        if parent:
            tags[PARENT_RUN_ID] = parent
        return self.client.create_run(self.experiment_id, tags=tags, run_name=name).info.run_id

    @retry_locked
    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:PARAM_LENGTH]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i : i + 100])

    @retry_locked
    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        self.client.log_batch(run_id, metrics=items)

    @retry_locked
    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(k, str(v)[:TAG_LENGTH]) for k, v in tags.items()])

    @retry_locked
    def log_artifact(self, run_id: str, path: str | Path, folder: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), folder)

    @retry_locked
    def end(self, run_id: str, status: str = FINISHED) -> None:
        self.client.set_terminated(run_id, status)

    @retry_locked
    def delete_tag(self, run_id: str, key: str) -> None:
        self.client.delete_tag(run_id, key)

    @retry_locked
    def set_status(self, run_id: str, status: str) -> None:
        """A run's status without ending it (e.g. RUNNING again when it is resumed)."""
        self.client.update_run(run_id, status=status)

    @retry_locked
    def delete_run(self, run_id: str) -> None:
        self.client.delete_run(run_id)

    @retry_locked
    def run(self, run_id: str) -> Any:
        return self.client.get_run(run_id)

    @retry_locked
    def metric_history(self, run_id: str, key: str) -> list[Any]:
        """Every logged value of one metric (MLflow ``Metric``: ``step``, ``value``, ...)."""
        return self.client.get_metric_history(run_id, key)

    @retry_locked
    def artifact_names(self, run_id: str, folder: str = "") -> set[str]:
        """The names of the files and folders directly in one artifact folder of a run."""
        return {Path(f.path).name for f in self.client.list_artifacts(run_id, folder or None)}

    def read_artifact(self, run_id: str, path: str) -> str:
        """The text of one artifact file; FileNotFoundError when the run has none at ``path``.
        Downloaded without MLflow's progress bar (one tqdm bar per file on stderr otherwise)."""
        folder, _, name = path.rpartition("/")
        if name not in self.artifact_names(run_id, folder):
            raise FileNotFoundError(f"run {run_id} has no artifact {path}")
        with tempfile.TemporaryDirectory() as tmp, _quiet_downloads():
            return Path(retry_locked(self.client.download_artifacts)(run_id, path, tmp)).read_text()

    @retry_locked
    def runs(self, filter_string: str = "") -> list[Any]:
        out: list[Any] = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string=filter_string, max_results=1000, page_token=token
            )
            out.extend(page)
            token = page.token
            if not token:
                return out

    def config_runs(self, config_hash: str) -> list[Any]:
        """Every run of one config (each attempt that was not resumed into the same run)."""
        return self.runs(f"tags.{CONFIG_HASH} = '{config_hash}'")

    def finished_hashes(self) -> set[str]:
        """``config_hash`` of every FINISHED config run."""
        runs = self.runs(f"attributes.status = '{FINISHED}'")
        return {h for h in (r.data.tags.get(CONFIG_HASH) for r in runs) if h}

    def finished_with_hash(self, config_hash: str) -> Any | None:
        runs = self.runs(f"tags.{CONFIG_HASH} = '{config_hash}' and attributes.status = '{FINISHED}'")
        return runs[0] if runs else None


@contextlib.contextmanager
def _quiet_downloads() -> Iterator[None]:
    """MLflow reads ``PROGRESS_BAR`` at each download: off for the block, unless the user set it."""
    if PROGRESS_BAR in os.environ:
        yield
        return
    os.environ[PROGRESS_BAR] = "false"
    try:
        yield
    finally:
        os.environ.pop(PROGRESS_BAR, None)
