"""Training children: exit codes, logs, tracebacks, live events, environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ablation.engines.yolov5 import compat
from ablation.train import isolate
from ablation.train.isolate import CHILDREN, child_environ
from ablation.train.worker import ERROR, RESULT


def write_job(folder: Path, **options: object) -> Path:
    job = folder / "job.json"
    job.write_text(
        json.dumps({"options": {"weights": "", "epochs": 1, "device": "cpu", "project": str(folder), **options}})
    )
    return job


@pytest.mark.slow
def test_a_failing_child_returns_1_with_its_traceback_and_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = write_job(tmp_path, data=str(tmp_path / "missing.yaml"), cfg="yolov5n.yaml")
    code = CHILDREN.run(job, tmp_path / "train.log", {}, echo=False)
    assert code == 1
    assert not (tmp_path / RESULT).exists()
    error = (tmp_path / ERROR).read_text()
    assert "Traceback" in error and "missing.yaml" in error
    assert "train: " in (tmp_path / "train.log").read_text()  # upstream's option line, from the child
    assert capsys.readouterr().out == ""


@pytest.mark.slow
def test_child_output_is_echoed_live_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = write_job(tmp_path, data=str(tmp_path / "missing.yaml"), cfg="yolov5n.yaml")
    assert CHILDREN.run(job, tmp_path / "train.log", {}, echo=True) == 1
    assert capsys.readouterr().out == (tmp_path / "train.log").read_text()


def test_children_start_from_the_launch_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Upstream's import has set OMP_NUM_THREADS in this process; a child must not inherit it.
    monkeypatch.setattr(compat, "_launch_env", {})
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("ABLATION_SET_LATER", "kept")
    # a library that sets a variable when imported (as polars sets its allocator's)
    monkeypatch.delenv("ABLATION_SET_BY_IMPORT", raising=False)
    (tmp_path / "lib_setting_env.py").write_text("import os\nos.environ['ABLATION_SET_BY_IMPORT'] = 'lib'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import lib_setting_env  # noqa: F401

    env = child_environ({"CUDA_VISIBLE_DEVICES": "2"})
    assert os.environ["ABLATION_SET_BY_IMPORT"] == "lib" and "ABLATION_SET_BY_IMPORT" not in env
    assert "OMP_NUM_THREADS" not in env
    assert env["ABLATION_SET_LATER"] == "kept" and env["CUDA_VISIBLE_DEVICES"] == "2"
    assert os.environ["OMP_NUM_THREADS"] == "1"  # this process keeps its own


# What a command imports after its first training child was started (``config.command.launch``).
COMMAND_STACK = """
import json, sys
from ablation.train.isolate import child_environ
before = child_environ({})
import cv2, torchvision, mlflow.tracking, polars, onnx
import ablation; ablation.setup()
import yolov5.train, yolov5.val
from ablation.track.store import Store
after = child_environ({})
print(json.dumps({k: [before.get(k), after.get(k)] for k in set(before) | set(after) if before.get(k) != after.get(k)}))
"""


def test_a_child_started_before_the_commands_imports_still_matches_its_job() -> None:
    # cv2, torchvision, MLflow's polars and upstream each set variables when imported; had the job's
    # environment changed with them, the child started ahead would be thrown away and started again.
    done = subprocess.run(
        [sys.executable, "-c", COMMAND_STACK], env=compat.launch_environ(), capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.splitlines()[-1]) == {}


@pytest.fixture
def no_standby() -> Iterator[None]:
    CHILDREN.discard()
    CHILDREN.expect(0)
    yield
    CHILDREN.expect(0)
    CHILDREN.discard()


def counting_spawns(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    spawned: list[dict[str, str]] = []
    real = isolate.spawn

    def spawn(env: dict[str, str]) -> isolate.Standby:
        spawned.append(env)
        return real(env)

    monkeypatch.setattr(isolate, "spawn", spawn)
    return spawned


@pytest.mark.slow
def test_a_prestarted_child_takes_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_standby: None) -> None:
    CHILDREN.prestart()
    waiting = CHILDREN.standby
    assert waiting is not None and waiting.process.poll() is None
    spawned = counting_spawns(monkeypatch)
    job = write_job(tmp_path, data=str(tmp_path / "missing.yaml"), cfg="yolov5n.yaml")
    assert CHILDREN.run(job, tmp_path / "train.log", {}, echo=False) == 1
    assert spawned == [] and waiting.process.returncode == 1  # that child ran it: no new one
    assert "missing.yaml" in (tmp_path / ERROR).read_text() and "train: " in (tmp_path / "train.log").read_text()
    assert not waiting.early_output.exists()


@pytest.mark.slow
def test_a_waiting_child_with_another_environment_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_standby: None
) -> None:
    CHILDREN.prestart({"CUDA_VISIBLE_DEVICES": "1"})
    stale = CHILDREN.standby
    assert stale is not None
    spawned = counting_spawns(monkeypatch)
    job = write_job(tmp_path, data=str(tmp_path / "missing.yaml"), cfg="yolov5n.yaml")
    assert CHILDREN.run(job, tmp_path / "train.log", {"CUDA_VISIBLE_DEVICES": "0"}, echo=False) == 1
    assert [env["CUDA_VISIBLE_DEVICES"] for env in spawned] == ["0"]
    assert stale.process.returncode is not None and not stale.early_output.exists()


@pytest.mark.slow
def test_the_next_child_starts_while_one_trains_only_when_more_jobs_follow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_standby: None
) -> None:
    spawned = counting_spawns(monkeypatch)
    CHILDREN.expect(2)
    for n in (1, 2):
        CHILDREN.job_begins()
        (tmp_path / str(n)).mkdir()
        job = write_job(tmp_path / str(n), data=str(tmp_path / "missing.yaml"), cfg="yolov5n.yaml")
        assert CHILDREN.run(job, tmp_path / str(n) / "train.log", {}, echo=False) == 1
    assert len(spawned) == 2  # the first job's child, and the second's started while the first ran
    assert CHILDREN.standby is None  # none for a third
    CHILDREN.prestart()
    waiting = CHILDREN.standby
    assert waiting is not None
    CHILDREN.discard()
    assert waiting.process.returncode is not None and not waiting.early_output.exists()


def test_a_child_that_died_before_its_job_leaves_its_output_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_standby: None
) -> None:
    early = tmp_path / "early.log"
    with early.open("wb") as out:
        dead = subprocess.Popen(
            [sys.executable, "-c", "print('broken install'); raise SystemExit(3)"], stdin=subprocess.PIPE, stdout=out
        )
    dead.wait()
    monkeypatch.setattr(CHILDREN, "claim", lambda env: isolate.Standby(dead, env, early))
    job = write_job(tmp_path, data="unused.yaml", cfg="yolov5n.yaml")
    assert CHILDREN.run(job, tmp_path / "train.log", {}, echo=False) == 3
    assert (tmp_path / "train.log").read_text() == "broken install\n" and not early.exists()


# A process launched without the variables the engines' imports set imports both engines, as an
# ultralytics sweep does (its dataset is read with the yolov5 engine), in either order.
BOTH_ENGINES = """
import json, os, sys
from ablation.engines import engine
from ablation.train.isolate import child_environ
for name in sys.argv[1:]:
    engine(name).setup()
print(json.dumps({"here": dict(os.environ), "yolov5": child_environ({}, "yolov5"),
                  "ultralytics": child_environ({}, "ultralytics"), "default": engine().launch_environ()}))
"""


@pytest.mark.parametrize("order", [["yolov5", "ultralytics"], ["ultralytics", "yolov5"]])
def test_a_child_gets_its_engines_launch_environment_whichever_engine_was_imported_first(order: list[str]) -> None:
    launched = {k: v for k, v in compat.launch_environ().items() if k not in ("OMP_NUM_THREADS", "YOLO_CONFIG_DIR")}
    done = subprocess.run(
        [sys.executable, "-c", BOTH_ENGINES, *order], env=launched, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    envs = json.loads(done.stdout.strip().splitlines()[-1])
    assert envs["here"]["OMP_NUM_THREADS"]  # the imports set it in this process
    for name in ("yolov5", "ultralytics"):
        env = envs[name]
        assert "OMP_NUM_THREADS" not in env and "YOLO_CONFIG_DIR" not in env, name  # as launched
        assert env["ABLATION_ENGINE"] == name and env["PYTHONUNBUFFERED"] == "1"
    if order[0] == "ultralytics":  # its private settings folder, which the default engine alone passed on
        assert envs["default"]["YOLO_CONFIG_DIR"] == envs["here"]["YOLO_CONFIG_DIR"]


def test_a_job_is_trained_by_a_child_of_its_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_standby: None
) -> None:
    claimed: list[dict[str, str]] = []
    early = tmp_path / "early.log"
    early.write_text("")
    dead = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"], stdin=subprocess.PIPE)
    dead.wait()
    monkeypatch.setattr(CHILDREN, "claim", lambda env: claimed.append(env) or isolate.Standby(dead, env, early))
    spawned = counting_spawns(monkeypatch)
    job = write_job(tmp_path, data="unused.yaml", cfg="yolo11n")
    job.write_text(json.dumps({**json.loads(job.read_text()), "engine": "ultralytics"}))
    CHILDREN.expect(2)  # the next job's child starts at once, for the same engine
    assert CHILDREN.run(job, tmp_path / "train.log", {}, echo=False) == 3
    assert [env["ABLATION_ENGINE"] for env in claimed + spawned] == ["ultralytics", "ultralytics"]
    assert CHILDREN.standby is not None and CHILDREN.standby.serves(child_environ({}, "ultralytics"))
    assert not CHILDREN.standby.serves(child_environ({}, "yolov5"))  # a yolov5 job gets a new child


def test_a_waiting_child_preloads_the_engine_its_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from ablation import engines
    from ablation.train import worker

    preloaded: list[str | None] = []

    class Recording:
        def preload(self) -> None:
            preloaded.append(os.environ.get("ABLATION_ENGINE"))

    monkeypatch.setattr(engines, "engine", lambda name=None: preloaded.append(name) or Recording())
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no job: the sweep ended
    monkeypatch.setenv("ABLATION_ENGINE", "ultralytics")
    assert worker.standby(tmp_path / "early.log") == 0
    monkeypatch.delenv("ABLATION_ENGINE")
    assert worker.standby(tmp_path / "early.log") == 0
    assert preloaded == ["ultralytics", "ultralytics", None, None]


@pytest.mark.slow
def test_a_waiting_child_without_a_job_exits_quietly(tmp_path: Path) -> None:
    early = tmp_path / "early.log"
    early.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "ablation.train.worker", "--standby", str(early)],
        input=b"",
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stderr == b"" and not early.exists()


def test_sigterm_to_a_slurm_task_stops_its_training_child_and_is_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slurm's SIGTERM (requeue, preemption, scancel, time limit) reaches the job process: the
    training child is killed at once, the job knows, submitit's own handler still runs."""
    import signal

    from ablation.train.isolate import SlurmTermination, Standby

    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))  # submitit's stand-in
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    monkeypatch.setattr(CHILDREN, "training", Standby(child, {}, Path(os.devnull)))
    monkeypatch.setenv("SLURM_JOB_ID", "17")
    try:
        with SlurmTermination() as slurm:
            os.kill(os.getpid(), signal.SIGTERM)
            assert child.wait(timeout=10) == -signal.SIGKILL
        assert slurm.received and seen == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is not slurm._handle  # restored on leaving
        monkeypatch.delenv("SLURM_JOB_ID")
        with SlurmTermination() as local:  # not a Slurm task: the handler is left alone
            os.kill(os.getpid(), signal.SIGTERM)
        assert not local.received and seen == [signal.SIGTERM, signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child.poll() is None:
            child.kill()


# `scontrol show job -o` as Slurm 22 printed it in a task's SIGTERM handler after `scontrol requeue`
# (JobState=COMPLETING, Restarts=1; after `scancel` the same with Restarts=0).
SHOWN = (
    "JobId=20 JobName=term_probe.sh UserId=root(0) JobState=COMPLETING Reason=None Dependency=(null) "
    "Requeue=1 Restarts={restarts} BatchFlag=1 Reboot=0 ExitCode=0:0"
)


@pytest.mark.parametrize(
    ("restarts", "restart_count", "requeued"),
    [
        (1, None, True),  # requeued during its first run
        (0, None, False),  # cancelled (or out of time) in its first run
        (1, "1", False),  # cancelled after one requeue
        (2, "1", True),  # requeued again
        (None, None, True),  # no answer: left to Slurm's accounting
    ],
)
def test_a_slurm_task_tells_a_requeue_from_a_cancel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restarts: int | None, restart_count: str | None, requeued: bool
) -> None:
    from ablation.train.isolate import SlurmTermination

    scontrol = tmp_path / "scontrol"
    shown = SHOWN.format(restarts=restarts) if restarts is not None else ""
    scontrol.write_text(f"#!/bin/sh\n[ \"$*\" = 'show job -o 20' ] && echo '{shown}'\n")
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SLURM_JOB_ID", "20")
    if restart_count is None:
        monkeypatch.delenv("SLURM_RESTART_COUNT", raising=False)
    else:
        monkeypatch.setenv("SLURM_RESTART_COUNT", restart_count)
    assert SlurmTermination.requeued() is requeued


CHECKS = """
import os


def check(item, suffix=""):
    print("noise from a check")  # not the first job's log
    if item == "die":
        os.kill(os.getpid(), 9)
    return item.upper() + suffix
"""


def test_checks_run_in_the_waiting_child_one_that_kills_it_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_standby: None
) -> None:
    from functools import partial

    from ablation.deploy.guarded import Crashed

    (tmp_path / "checks_for_test.py").write_text(CHECKS)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    import checks_for_test

    spawned = counting_spawns(monkeypatch)
    CHILDREN.prestart()
    first = CHILDREN.standby
    assert first is not None
    assert CHILDREN.call(partial(checks_for_test.check, suffix="!"), ["a", "b"]) == ["A!", "B!"]
    assert CHILDREN.standby is first and first.process.poll() is None  # it still waits for its job
    assert "noise from a check" not in first.early_output.read_text()
    results = CHILDREN.call(checks_for_test.check, ["c", "die", "d"])
    assert results == ["C", Crashed(-9), "D"] and len(spawned) == 2  # a new child took "d"
    assert CHILDREN.standby is not None and CHILDREN.standby.process.poll() is None
