"""`hydra/launcher=slurm`: what our config and its overrides ask of Slurm, read from the batch
script that Hydra's submitit launcher hands to `sbatch` (a stand-in `sbatch` on PATH keeps the
script and refuses the submission, so nothing runs; a stand-in `srun` is there because submitit
looks for one)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from ablation.config.compose import CONF_DIR

FAKE_SBATCH = """#!/bin/sh
cp "$1" "{keep}"
cp -r "{folder}" "{keep_folder}"
echo "sbatch: error: refused by the test" >&2
exit 1
"""


def submitted_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overrides: list[str], jobs: int = 3) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    keep = tmp_path / "submitted.sh"
    folder = tmp_path / "sweep" / ".submitit"
    (bin_dir / "sbatch").write_text(FAKE_SBATCH.format(keep=keep, folder=folder, keep_folder=tmp_path / "submitit"))
    (bin_dir / "sbatch").chmod(0o755)
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")  # submitit refuses to submit where no srun is on PATH
    (bin_dir / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        config = compose(
            "run",
            ["hydra/launcher=slurm", f"hydra.sweep.dir={tmp_path / 'sweep'}", *overrides],
            return_hydra_config=True,
        )
    launcher = instantiate(config.hydra.launcher)
    launcher.config = config
    with pytest.raises(Exception, match="refused by the test"):
        launcher.launch([[f"seed={i}"] for i in range(jobs)], initial_job_idx=0)
    return keep.read_text()


def sbatch_options(script: str) -> dict[str, str]:
    return dict(re.findall(r"^#SBATCH --([\w-]+)(?:=(.*))?$", script, re.M))


def test_defaults_one_gpu_per_config_with_requeue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = sbatch_options(submitted_script(tmp_path, monkeypatch, []))
    assert options["gpus-per-node"] == "1"
    assert options["cpus-per-task"] == "8"
    assert options["mem"] == "32GB"
    assert options["time"] == "1440"
    assert options["array"] == "0-2%3"  # 3 configs, at most 16 at once
    assert options["job-name"] == "ablation"
    assert options["signal"] == "USR2@120"  # submitit requeues on this signal (preemption, timeout)
    assert "requeue" in options and "partition" not in options


def test_every_option_is_an_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = submitted_script(
        tmp_path,
        monkeypatch,
        [
            "hydra.launcher.partition=gpu-long",
            "hydra.launcher.gpus_per_node=0",
            "hydra.launcher.cpus_per_task=2",
            "hydra.launcher.mem_gb=4",
            "hydra.launcher.timeout_min=30",
            "hydra.launcher.array_parallelism=2",
            "hydra.launcher.account=vision",
            "+hydra.launcher.additional_parameters.constraint=a100",
        ],
        jobs=5,
    )
    options = sbatch_options(script)
    assert (options["partition"], options["gpus-per-node"], options["cpus-per-task"]) == ("gpu-long", "0", "2")
    assert (options["mem"], options["time"], options["array"]) == ("4GB", "30", "0-4%2")
    assert (options["account"], options["constraint"]) == ("vision", "a100")


def test_timeouts_are_requeued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """submitit resubmits a timed-out task at most ``max_num_timeout`` times (its default 0 never does)."""
    submitted_script(tmp_path, monkeypatch, ["hydra.launcher.max_num_timeout=5"])
    pickles = list((tmp_path / "submitit").rglob("*.pkl"))
    assert len(pickles) == 3
    import pickle

    delayed = pickle.loads(pickles[0].read_bytes())
    assert delayed._timeout_countdown == 5
