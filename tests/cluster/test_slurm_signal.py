"""What a task sees when Slurm sends it SIGTERM, on the real single-node Slurm: a requeued task
leaves its result to its next run, a cancelled one reports (``SlurmTermination``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import ROOT, needs_root

TASK = """
import sys, time
from pathlib import Path
from ablation.train.isolate import SlurmTermination
out = Path(sys.argv[1])
with SlurmTermination() as slurm:
    out.with_suffix('.started').write_text('')
    while not slurm.received:
        time.sleep(0.1)
out.write_text(str(slurm.requeued()))
"""


@pytest.mark.slow
def test_a_task_tells_scontrol_requeue_from_scancel(tmp_path: Path) -> None:
    needs_root()
    env = {**os.environ, "ABLATION_CLUSTER_STATE": str(tmp_path / "state")}
    subprocess.run([ROOT / "scripts/cluster/slurm.sh", "up"], check=True, env=env)
    (tmp_path / "task.py").write_text(TASK)
    jobs = {}
    try:
        for name, flags in (("requeued", ["--requeue"]), ("cancelled", [])):
            jobs[name] = subprocess.run(
                [
                    "sbatch",
                    "--parsable",
                    "--cpus-per-task=1",
                    "--mem=500M",
                    *flags,
                    "-o",
                    str(tmp_path / f"{name}.log"),
                    "-D",
                    str(ROOT),
                    "--wrap",
                    f"exec {sys.executable} {tmp_path / 'task.py'} {tmp_path / name}.txt",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        deadline = time.monotonic() + 120
        while not all((tmp_path / f"{name}.started").exists() for name in jobs):
            assert time.monotonic() < deadline, subprocess.run(["squeue"], capture_output=True, text=True).stdout
            time.sleep(0.5)
        subprocess.run(["scontrol", "requeue", jobs["requeued"]], check=True)
        subprocess.run(["scancel", jobs["cancelled"]], check=True)
        while not all((tmp_path / f"{name}.txt").exists() for name in jobs):
            assert time.monotonic() < deadline
            time.sleep(0.5)
        seen = {name: (tmp_path / f"{name}.txt").read_text() for name in jobs}
    finally:
        subprocess.run(["scancel", *jobs.values()], check=False)
        subprocess.run([ROOT / "scripts/cluster/slurm.sh", "down"], env=env, check=False)
    assert seen == {"requeued": "True", "cancelled": "False"}
