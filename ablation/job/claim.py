"""Who trains a config: one process at a time, into one MLflow run, resumed where it stopped.

Every config run carries, as tags, its ``owner`` (host, pid and process start time, the Slurm
job), a ``heartbeat`` (unix seconds, renewed by the training job every ``heartbeat_s``), the
``checkpoint`` it resumes from (``<job>/train/weights/resume.pt``, upstream's ``last.pt`` kept
whole) and ``job_dir``, the folder of its latest attempt. Given the runs of one ``config_hash``:

- one FINISHED: the config is done (a re-run skips it);
- one RUNNING whose owner is alive: another process trains it (a re-run waits for it). Alive
  means: on this host, its process exists (a killed process is dead at once); in the same Slurm
  array task as the asker, dead (Slurm requeued it: the asker is its successor); elsewhere, a
  heartbeat younger than ``stale_after_s``;
- the latest run stopped from outside (killed by a signal, Ctrl-C, preempted, its process lost)
  with a checkpoint on disk: it is resumed, into the same run;
- otherwise a new run (a config that failed on its own, e.g. an exception or a NaN loss, trains
  again from epoch 0).

Two processes may decide at the same moment (two submitters, a requeued task and a re-run).
``claim`` then writes its claim, waits ``settle_s`` and reads back (Fischer's mutual exclusion:
correct while a read-then-write takes less than ``settle_s``): of the claims alive then, the run
started first wins, a lost new run is deleted, and the loser reports the winner as busy.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ablation.config.errors import OptionError, as_number
from ablation.track import Store
from ablation.track.schema import CHECKPOINT, FINISHED, HEARTBEAT, INTERRUPTED, KILLED, OWNER, RUNNING

NEW, RESUME, DONE, BUSY = "new", "resume", "finished", "busy"


@dataclass(frozen=True)
class Owner:
    """A training job process, as recorded on the run it trains."""

    host: str
    machine: str  # host name, boot and pid namespace: where ``pid`` means this process
    pid: int
    started: str  # the process's start time (/proc), "" where unknown
    slurm: str  # "<array job>_<task>" or the job id; "" outside Slurm
    claim: str  # unique per claim

    @classmethod
    def me(cls) -> Owner:
        env = os.environ
        slurm = (
            f"{env['SLURM_ARRAY_JOB_ID']}_{env.get('SLURM_ARRAY_TASK_ID', '')}"
            if env.get("SLURM_ARRAY_JOB_ID")
            else env.get("SLURM_JOB_ID", "")
        )
        host = socket.gethostname()
        return cls(host, _machine(host), os.getpid(), _start_time(os.getpid()), slurm, uuid.uuid4().hex[:12])

    def tag(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        try:
            return cls(**json.loads(text or ""))
        except (ValueError, TypeError):
            return None

    def __str__(self) -> str:
        where = f"Slurm job {self.slurm}" if self.slurm else f"pid {self.pid}"
        return f"{where} on {self.host}"


@dataclass(frozen=True)
class Timing:
    """``tracking.heartbeat_s``, ``tracking.stale_after_s``, ``tracking.claim_settle_s``."""

    heartbeat_s: float = 30.0
    stale_after_s: float = 180.0
    settle_s: float = 1.0

    @classmethod
    def of(cls, tracking: Any) -> Timing:
        """The checked timings of ``tracking``: ``OptionError`` (one sentence) when a claim could not work."""
        get = getattr(tracking, "get", lambda key, default: default)
        timing = cls(
            as_number("tracking.heartbeat_s", get("heartbeat_s", cls.heartbeat_s), float, "30"),
            as_number("tracking.stale_after_s", get("stale_after_s", cls.stale_after_s), float, "180"),
            as_number("tracking.claim_settle_s", get("claim_settle_s", cls.settle_s), float, "1"),
        )
        timing.check()
        return timing

    def check(self) -> None:
        if self.heartbeat_s <= 0:
            raise OptionError(
                f"tracking.heartbeat_s={self.heartbeat_s:g} must be more than 0; e.g. tracking.heartbeat_s=30."
            )
        if self.stale_after_s <= self.heartbeat_s:
            raise OptionError(
                f"tracking.stale_after_s={self.stale_after_s:g} must exceed tracking.heartbeat_s={self.heartbeat_s:g} "
                f"(else every live run looks lost); e.g. tracking.stale_after_s={6 * self.heartbeat_s:g}."
            )
        if self.settle_s < 0:
            raise OptionError(
                f"tracking.claim_settle_s={self.settle_s:g} must be 0 or more; e.g. tracking.claim_settle_s=1."
            )


@dataclass(frozen=True)
class Decision:
    kind: str  # NEW, RESUME, DONE, BUSY
    run: Any | None = None  # the MLflow run it is about (None for NEW before the claim)
    token: str = ""  # the owner tag written by a claim

    @property
    def run_id(self) -> str:
        return self.run.info.run_id if self.run is not None else ""


def alive(run: Any, me: Owner, stale_after_s: float, now: float | None = None) -> bool:
    """Whether a RUNNING run's owner is still at work (see the module docstring)."""
    if run.info.status != RUNNING:
        return False
    owner = Owner.parse(run.data.tags.get(OWNER))
    if owner is not None and owner.slurm and owner.slurm == me.slurm:
        return owner.claim == me.claim
    if owner is not None and owner.machine == me.machine:
        return _process_alive(owner.pid, owner.started)
    beat = run.data.tags.get(HEARTBEAT)
    last = float(beat) if beat else run.info.start_time / 1000
    return (now or time.time()) - last < stale_after_s


def resumable(run: Any) -> bool:
    """Stopped from outside, with its checkpoint and upstream's ``opt.yaml`` still on disk."""
    if run.info.status == FINISHED or (run.info.status != RUNNING and INTERRUPTED not in run.data.tags):
        return False
    checkpoint = run.data.tags.get(CHECKPOINT)
    return bool(checkpoint) and Path(checkpoint).is_file() and (Path(checkpoint).parents[1] / "opt.yaml").is_file()


def decide(runs: list[Any], me: Owner, stale_after_s: float) -> Decision:
    """What a job for this config should do, given every run of its ``config_hash``."""
    runs = sorted(runs, key=lambda r: r.info.start_time, reverse=True)
    for run in runs:
        if run.info.status == FINISHED:
            return Decision(DONE, run)
    for run in reversed(runs):  # the first claim of those alive is the one that trains
        if alive(run, me, stale_after_s):
            return Decision(BUSY, run)
    if runs and resumable(runs[0]):
        return Decision(RESUME, runs[0])
    return Decision(NEW)


def claim(store: Store, config_hash: str, create: Callable[[dict[str, str]], str], timing: Timing) -> Decision:
    """Decide, and for NEW or RESUME take the run: RUNNING, owned by this process. ``create``
    starts a new run with the given extra tags and returns its id."""
    me = Owner.me()
    runs = store.config_runs(config_hash)
    decision = decide(runs, me, timing.stale_after_s)
    if decision.kind in (DONE, BUSY):
        return decision
    _close_lost(store, [r for r in runs if r.info.run_id != decision.run_id], me, timing.stale_after_s)
    token, now = me.tag(), str(int(time.time()))
    if decision.kind == RESUME:
        run_id = decision.run_id
        store.set_tags(run_id, {OWNER: token, HEARTBEAT: now})
        store.set_status(run_id, RUNNING)
    else:
        run_id = create({OWNER: token, HEARTBEAT: now})
    time.sleep(timing.settle_s)
    runs = store.config_runs(config_hash)
    mine = next(r for r in runs if r.info.run_id == run_id)
    if mine.data.tags.get(OWNER) != token:  # another process claimed the same run after us
        return Decision(BUSY, mine)
    rivals = [r for r in runs if r.info.run_id != run_id and alive(r, me, timing.stale_after_s)]
    first = min([mine, *rivals], key=lambda r: (r.info.start_time, r.info.run_id))
    if first is not mine:
        if decision.kind == NEW:
            store.delete_run(run_id)
        else:
            store.end(run_id, KILLED)
        return Decision(BUSY, first)
    return Decision(decision.kind, mine, token)


def _close_lost(store: Store, runs: list[Any], me: Owner, stale_after_s: float) -> None:
    """RUNNING runs whose process is gone end as KILLED (the latest may be resumed right after)."""
    for run in runs:
        if run.info.status == RUNNING and not alive(run, me, stale_after_s):
            store.set_tags(run.info.run_id, {INTERRUPTED: "lost: its process ended without recording why"})
            store.end(run.info.run_id, KILLED)


class Heartbeat:
    """Renews the ``heartbeat`` tag of a claimed run every ``every_s`` seconds, in a thread. If
    the run is found owned by another claim (this process was taken for dead: no heartbeat got
    through for ``stale_after_s``), ``lost`` is set and ``on_lost`` called once."""

    def __init__(self, store: Store, run_id: str, token: str, every_s: float, on_lost: Callable[[], None]) -> None:
        self.store, self.run_id, self.token, self.every_s, self.on_lost = store, run_id, token, every_s, on_lost
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                owner = self.store.run(self.run_id).data.tags.get(OWNER)
                if owner != self.token:
                    self.lost = True
                    self.on_lost()
                    return
                self.store.set_tags(self.run_id, {HEARTBEAT: str(int(time.time()))})
            except Exception:
                continue


def _machine(host: str) -> str:
    """The host, its boot and this pid namespace: a container on the same host is another machine."""
    parts = [host]
    for path in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            parts.append(os.readlink(path) if path.endswith("/pid") else Path(path).read_text().strip()[:8])
        except OSError:
            parts.append("")
    return "/".join(parts)


def _start_time(pid: int) -> str:
    stat = _stat(pid)
    return stat[19] if len(stat) > 19 else ""


def _stat(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` from the field after the command name (state first); [] if none."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _process_alive(pid: int, started: str) -> bool:
    """``pid`` runs (not a zombie) and is the process that was started at ``started``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _stat(pid)
    if not stat:
        return not Path("/proc").is_dir()  # no /proc: the signal test is all there is
    return stat[0] != "Z" and (not started or stat[19] == started)
