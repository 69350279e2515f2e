"""Who trains a config (``ablation.job.claim``): liveness, resume decisions, the claim race, heartbeats."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ablation.engines.yolov5.train import forget_after, keep_checkpoint
from ablation.job import claim as claims
from ablation.job.claim import BUSY, DONE, NEW, RESUME, Heartbeat, Owner, Timing, decide
from ablation.track import Store

ROOT = Path(__file__).resolve().parents[2]


def fake_run(status: str, start: int = 0, owner: Owner | None = None, **tags: str) -> Any:
    """What ``decide`` reads of an MLflow run: its status, start time and tags."""
    if owner is not None:
        tags["owner"] = owner.tag()
    return SimpleNamespace(
        info=SimpleNamespace(status=status, start_time=start, run_id=f"run{start}"), data=SimpleNamespace(tags=tags)
    )


@pytest.fixture
def checkpoint(tmp_path: Path) -> str:
    """A resume checkpoint of an earlier attempt, with upstream's opt.yaml beside its folder."""
    (tmp_path / "train" / "weights").mkdir(parents=True)
    (tmp_path / "train" / "opt.yaml").write_text("epochs: 3\n")
    path = tmp_path / "train" / "weights" / "resume.pt"
    path.write_bytes(b"checkpoint")
    return str(path)


def dead_process() -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout), "1"


def test_a_finished_run_is_done_and_a_live_owner_is_busy(checkpoint: str) -> None:
    me = Owner.me()
    assert decide([fake_run("FAILED", 1), fake_run("FINISHED", 0)], me, 180).kind == DONE
    mine_elsewhere = replace(Owner.me(), claim="another")  # a live process on this machine
    assert decide([fake_run("RUNNING", 0, mine_elsewhere, checkpoint=checkpoint)], me, 180).kind == BUSY


def test_a_run_whose_process_is_gone_resumes_at_once_on_this_machine(checkpoint: str) -> None:
    pid, started = dead_process()
    gone = replace(Owner.me(), pid=pid, started=started)
    fresh = str(int(time.time()))
    decision = decide([fake_run("RUNNING", 0, gone, checkpoint=checkpoint, heartbeat=fresh)], Owner.me(), 180)
    assert decision.kind == RESUME and decision.run_id == "run0"


def test_another_machine_is_alive_while_its_heartbeat_is_fresh(checkpoint: str) -> None:
    other = replace(Owner.me(), host="node7", machine="node7/x/y", pid=1)
    fresh, old = str(int(time.time()) - 10), str(int(time.time()) - 500)
    assert decide([fake_run("RUNNING", 0, other, checkpoint=checkpoint, heartbeat=fresh)], Owner.me(), 180).kind == BUSY
    assert decide([fake_run("RUNNING", 0, other, checkpoint=checkpoint, heartbeat=old)], Owner.me(), 180).kind == RESUME


def test_a_requeued_slurm_task_takes_over_its_earlier_self(checkpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "41")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    earlier = replace(Owner.me(), host="node7", machine="node7/x/y", claim="before-requeue")
    fresh = str(int(time.time()))
    assert earlier.slurm == "41_3"
    run = fake_run("RUNNING", 0, earlier, checkpoint=checkpoint, heartbeat=fresh)
    assert decide([run], Owner.me(), 180).kind == RESUME
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "4")  # another task of the array: it must wait
    assert decide([run], Owner.me(), 180).kind == BUSY


def test_only_a_run_stopped_from_outside_with_its_checkpoint_resumes(checkpoint: str) -> None:
    me = Owner.me()
    assert decide([fake_run("FAILED", 0, checkpoint=checkpoint, interrupted="SIGKILL")], me, 180).kind == RESUME
    assert decide([fake_run("KILLED", 0, checkpoint=checkpoint, interrupted="Ctrl-C")], me, 180).kind == RESUME
    # An exception or NaN loss: the config trains again from epoch 0, in a new run.
    assert decide([fake_run("FAILED", 0, checkpoint=checkpoint, error="NonFiniteLoss")], me, 180).kind == NEW
    # Killed before its first checkpoint, or its folder deleted: nothing to resume from.
    missing = str(Path(checkpoint).with_name("gone.pt"))
    assert decide([fake_run("FAILED", 0, checkpoint=missing, interrupted="SIGKILL")], me, 180).kind == NEW
    # Only the latest attempt counts.
    older = fake_run("FAILED", 0, checkpoint=checkpoint, interrupted="SIGKILL")
    assert decide([older, fake_run("FAILED", 5, error="RuntimeError")], me, 180).kind == NEW


def test_claims_at_the_same_moment_leave_one_run_and_one_trainer(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    Store(uri, "ablation").experiment_id  # noqa: B018 - created once, as the sweep does
    stores = [Store(uri, "ablation") for _ in range(3)]
    barrier, decisions, errors = threading.Barrier(3, timeout=120), [], []

    def contend(store: Store) -> None:
        try:
            barrier.wait()
            create = lambda tags: store.start("cfg", {"config_hash": "h1", **tags})  # noqa: E731
            decisions.append(claims.claim(store, "h1", create, Timing(settle_s=1.0)))
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=contend, args=(store,)) for store in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    kinds = sorted(d.kind for d in decisions)
    assert kinds == [BUSY, BUSY, NEW]
    winner = next(d for d in decisions if d.kind == NEW)
    assert {d.run_id for d in decisions} == {winner.run_id}  # the losers name the winner's run
    runs = Store(uri, "ablation").runs("tags.config_hash = 'h1'")
    assert [r.info.run_id for r in runs] == [winner.run_id]  # the losers' runs are deleted


def test_a_heartbeat_renews_and_notices_a_lost_claim(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'mlflow.db'}", "ablation")
    run_id = store.start("cfg", {"owner": "me", "heartbeat": "0"})
    lost = threading.Event()
    with Heartbeat(store, run_id, "me", every_s=0.2, on_lost=lost.set) as beat:
        time.sleep(1.0)
        assert time.time() - float(store.run(run_id).data.tags["heartbeat"]) < 5
        store.set_tags(run_id, {"owner": "someone else"})
        assert lost.wait(5) and beat.lost


def test_the_resume_checkpoint_is_replaced_whole(tmp_path: Path) -> None:
    last = tmp_path / "last.pt"
    last.write_bytes(b"epoch 3")
    kept = keep_checkpoint(last)
    assert kept.read_bytes() == b"epoch 3" and kept.name == "resume.pt"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_results_csv_forgets_the_epochs_of_a_lost_attempt(tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    results.write_text("epoch,loss\n0,1.0\n1,0.9\n2,0.8\n")
    forget_after(results, 1)
    assert results.read_text() == "epoch,loss\n0,1.0\n1,0.9\n"


def test_the_sweeper_uses_only_hydras_public_api() -> None:
    for path in (
        ROOT / "hydra_plugins" / "ablation_sweeper" / "ablation_sweeper.py",
        ROOT / "ablation" / "sweep" / "core.py",
        ROOT / "ablation" / "sweep" / "loop.py",
    ):
        tree = ast.parse(path.read_text())
        modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in modules if "_internal" in m], path
        assert "_return_value" not in path.read_text(), path


def test_a_training_child_dies_with_its_job_process(tmp_path: Path) -> None:
    # The job process (here: a shell) starts a worker and is killed; the worker must not live on.
    script = (
        f"sleep 30 | {sys.executable} -m ablation.train.worker --standby {tmp_path / 'early.log'} --parent $$ "
        f"> /dev/null 2>&1 & echo $!; sleep 60"
    )
    # Its stdin never delivers a job: the worker would wait for one as long as the pipe is open.
    job = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert job.stdout is not None
    worker = int(job.stdout.readline())
    time.sleep(1)
    job.kill()
    job.wait()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{worker}").exists() or Path(f"/proc/{worker}/stat").read_text().split()[2] == "Z"
