"""Run one config's training in a fresh process of its own.

Each config trains in a child process, so a crash, an OOM kill or a leak cannot take the sweep
down. The child is a new interpreter, started with the environment the command was launched with
(``compat.launch_environ``): upstream's import sets OMP_NUM_THREADS in the job process, and a
child that inherited it would train with fewer threads than plain upstream.

Not forked from a preloaded server, although that would save the child's imports (13 s on 2
cores): measured here, training in a forked child ran 12 % slower per batch than in a fresh
interpreter, which costs more than the imports on any run longer than two minutes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vendor.yolov5 import compat


def run_isolated(
    job_file: Path, log_file: Path, env: dict[str, str], echo: bool = True,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Train ``job_file`` in a child; its output goes to ``log_file`` (and, live, to ours when
    ``echo``), its events (``worker.EVENTS``) to ``on_event`` as they come. Returns the exit
    code: 0, the worker's 1, or ``-signal`` when it was killed."""
    from .worker import EVENTS

    child_env = {**compat.launch_environ(), "PYTHONUNBUFFERED": "1", **env}
    child_env.pop("MLFLOW_RUN_ID", None)  # never let the child attach to someone else's run
    (job_file.parent / EVENTS).unlink(missing_ok=True)  # a retried job's old events are not this run's
    events = Tail(job_file.parent / EVENTS)
    with log_file.open("wb") as sink, log_file.open("rb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "ablation.train.worker", str(job_file)], stdout=sink, stderr=subprocess.STDOUT, env=child_env
        )
        while True:
            try:
                child.wait(0.5)
            except subprocess.TimeoutExpired:
                pass
            chunk = log.read()
            if chunk and echo:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            for line in events.lines():
                if on_event is not None:
                    on_event(json.loads(line))
            if child.returncode is not None and not chunk:
                return child.returncode


class Tail:
    """The complete lines appended to a file since the last call (the file may not exist yet)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def lines(self) -> list[str]:
        if not self.path.is_file():
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return complete.decode().splitlines()
