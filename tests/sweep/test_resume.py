"""Killed, then the same command: a config resumes from its last epoch into the same run, and a
sweep whose submitter was killed ends with every config FINISHED, none trained twice at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablation.engines.yolov5 import compat
from ablation.engines.yolov5.train import EPOCH_KEYS
from tests.sweep.conftest import TINY, read_results, store_uri

pytestmark = pytest.mark.slow  # trains end to end in subprocesses

EPOCHS = 4


def start(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {**compat.launch_environ(), "ABLATION_QUIET": "1", "TMPDIR": str(folder / "tmp"), **(env or {})}
    (folder / "tmp").mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "ablation.run", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_epoch(folder: Path, epoch: int, process: subprocess.Popen[str]) -> Path:
    """Until a job of the sweep in ``folder`` has reported ``epoch`` (it is checkpointed then)."""
    deadline = time.monotonic() + 900
    while True:
        for events in folder.glob("runs/*/*/events.jsonl"):
            steps = [json.loads(line).get("step") for line in events.read_text().splitlines() if '"metrics"' in line]
            if epoch in steps:
                return events.parent
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.2)


def training_children(folder: Path) -> list[int]:
    """Training processes started by a sweep in ``folder`` (their early log is in its TMPDIR)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if "ablation.train.worker" in cmdline and str(folder / "tmp") in cmdline and state != "Z":
            pids.append(int(proc.name))
    return pids


def config_runs(folder: Path) -> tuple[MlflowClient, dict[str, list]]:
    client = MlflowClient(store_uri(folder))
    runs: dict[str, list] = {}
    for run in client.search_runs([client.get_experiment_by_name("ablation").experiment_id]):
        if "config_hash" in run.data.tags:
            runs.setdefault(run.info.run_name, []).append(run)
    return client, runs


def assert_every_epoch_once(client: MlflowClient, run_id: str) -> None:
    for key in EPOCH_KEYS:
        assert [m.step for m in client.get_metric_history(run_id, key)] in (
            list(range(EPOCHS)),
            [*range(EPOCHS), EPOCHS],  # + upstream's final validation of best.pt
        ), key


def test_a_killed_training_child_resumes_from_its_last_epoch_into_the_same_run(tmp_path: Path) -> None:
    args = [*TINY, f"train.epochs={EPOCHS}", f"tracking.uri={store_uri(tmp_path)}"]
    first = start(tmp_path, *args)
    job = wait_for_epoch(tmp_path, 1, first)  # epochs 0 and 1 checkpointed
    [child] = training_children(tmp_path)
    os.kill(child, signal.SIGKILL)
    _, stderr = first.communicate(timeout=600)
    assert first.returncode == 1, stderr[-3000:]
    client, runs = config_runs(tmp_path)
    [killed] = runs["yolov5n-none"]
    assert killed.info.status == "FAILED" and killed.data.tags["interrupted"] == "SIGKILL"
    assert "SIGKILL" in killed.data.tags["error"]

    again = start(tmp_path, *args)
    stdout, stderr = again.communicate(timeout=900)
    assert again.returncode == 0, stderr[-3000:]
    assert "resuming run" in stdout and "1 finished" in stdout
    client, runs = config_runs(tmp_path)
    [resumed] = runs["yolov5n-none"]  # no second run
    assert resumed.info.run_id == killed.info.run_id and resumed.info.status == "FINISHED"
    assert resumed.data.tags["resumed"] == "1" and "interrupted" not in resumed.data.tags
    assert "error" not in resumed.data.tags
    assert_every_epoch_once(client, resumed.info.run_id)
    # Upstream's resume continued the first attempt's training, in its folder: the second attempt
    # trained only the epochs after the last checkpoint, and results.csv has every epoch once.
    second = Path(resumed.data.tags["job_dir"])
    assert second != job
    trained = [e["epoch"] for e in json.loads((second / "result.json").read_text())["epochs"]]
    resumed_at = int(resumed.data.tags["resumed_at_epochs"])
    assert resumed_at >= 2 and trained == list(range(resumed_at, EPOCHS))
    assert "Resuming training from" in (second / "train.log").read_text()
    assert [int(r["epoch"]) for r in read_results(job / "train" / "results.csv")] == list(range(EPOCHS))
    logged = [m.value for m in client.get_metric_history(resumed.info.run_id, "train/box_loss")][:EPOCHS]
    csv_values = [float(r["train/box_loss"]) for r in read_results(job / "train" / "results.csv")]
    assert logged == pytest.approx(csv_values, abs=1e-5)
    assert not (job / "train" / "weights" / "resume.pt").exists()  # FINISHED: nothing left to resume


def test_slurms_sigterm_ends_the_attempt_without_a_result_and_the_config_resumes(tmp_path: Path) -> None:
    """As Slurm stops a task it requeues or cancels: SIGTERM to every process of the task. The job
    records the attempt as interrupted and leaves without a result (a submitit submitter would
    otherwise take it for the config's outcome); the same command resumes the run."""
    args = [*TINY, f"train.epochs={EPOCHS}", f"tracking.uri={store_uri(tmp_path)}"]
    first = start(tmp_path, *args, env={"SLURM_JOB_ID": "4242"})  # a sweep run inside an sbatch script
    wait_for_epoch(tmp_path, 1, first)
    os.killpg(first.pid, signal.SIGTERM)  # the whole task: the job process and its training child
    _, stderr = first.communicate(timeout=600)
    assert first.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert training_children(tmp_path) == []
    client, runs = config_runs(tmp_path)
    [stopped] = runs["yolov5n-none"]
    assert stopped.info.status == "KILLED" and stopped.data.tags["interrupted"] == "SIGTERM"
    assert stopped.data.tags["error"].startswith("stopped by Slurm (SIGTERM")

    again = start(tmp_path, *args)
    stdout, stderr = again.communicate(timeout=900)
    assert again.returncode == 0, stderr[-3000:]
    client, runs = config_runs(tmp_path)
    [resumed] = runs["yolov5n-none"]
    assert resumed.info.run_id == stopped.info.run_id and resumed.info.status == "FINISHED"
    assert int(resumed.data.tags["resumed_at_epochs"]) >= 2
    assert_every_epoch_once(client, resumed.info.run_id)


def test_a_killed_submitter_loses_nothing_and_no_config_trains_twice_at_once(tmp_path: Path) -> None:
    args = [*TINY, "attention=se", "placement=neck", f"train.epochs={EPOCHS}", f"tracking.uri={store_uri(tmp_path)}"]
    first = start(tmp_path, *args, "hydra.sweep.dir=runs/first")
    wait_for_epoch(tmp_path, 1, first)  # the baseline trains (job 0)
    children = training_children(tmp_path)
    assert children
    os.kill(first.pid, signal.SIGKILL)  # the submitter alone: its training child must not train on
    first.communicate(timeout=60)
    time.sleep(2)
    assert not training_children(tmp_path)  # it died with its job process
    client, runs = config_runs(tmp_path)
    assert {name: [r.info.status for r in rs] for name, rs in runs.items()} == {"yolov5n-none": ["RUNNING"]}

    # Two submitters of the same command at once: each config is trained by one of them.
    a = start(tmp_path, *args, "hydra.sweep.dir=runs/a")
    time.sleep(0.5)
    b = start(tmp_path, *args, "hydra.sweep.dir=runs/b")
    for sweep in (a, b):
        stdout, stderr = sweep.communicate(timeout=1500)
        assert sweep.returncode == 0, stderr[-3000:]
        assert "yolov5n-se-neck" in stdout and "0 failed" in stdout  # each ends with the summary of the grid
        outputs = Path(stdout.split("outputs in ")[-1].splitlines()[0])
        assert (outputs / "results.csv").is_file() and (outputs / "report.html").is_file()
    client, runs = config_runs(tmp_path)
    assert {name: [r.info.status for r in rs] for name, rs in runs.items()} == {
        "yolov5n-none": ["FINISHED"],
        "yolov5n-se-neck": ["FINISHED"],
    }
    assert runs["yolov5n-none"][0].data.tags["resumed"] == "1"
    for [run] in runs.values():
        assert_every_epoch_once(client, run.info.run_id)
    # Each config has one attempt in the two re-runs that trained (a job that found its config
    # claimed by the other submitter returned at once, without training).
    trained = [json.loads(p.read_text())["options"]["cfg"] for p in tmp_path.glob("runs/[ab]/*/job.json")]
    assert sorted(Path(cfg).stem for cfg in trained) == ["yolov5n-none", "yolov5n-se-neck"]
