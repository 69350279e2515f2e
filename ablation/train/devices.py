"""Which device a job trains on, when several jobs run at once.

Hydra's joblib launcher reuses worker processes, so per-job environment variables set by the
launcher are unreliable for GPU pinning (CUDA reads CUDA_VISIBLE_DEVICES once per process). Our
training runs in a fresh child process per config, so the job leases one GPU index under a file
lock and starts the child with ``CUDA_VISIBLE_DEVICES`` set to it. On CPU, parallel jobs split
the cores evenly.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LEASE_DIR = Path(tempfile.gettempdir()) / "ablation-gpu-leases"


@dataclass(frozen=True)
class DeviceLease:
    """What the training child gets: extra environment, thread count, and a note for the run."""

    env: dict[str, str] = field(default_factory=dict)
    threads: int | None = None
    gpu: str = ""


def visible_gpus() -> list[str]:
    """Physical ids of the GPUs this process may use (``CUDA_VISIBLE_DEVICES`` order)."""
    declared = os.environ.get("CUDA_VISIBLE_DEVICES")
    if declared is not None:
        return [d.strip() for d in declared.split(",") if d.strip() and d.strip() != "-1"]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:
        return []


def parallel_jobs() -> int:
    """How many jobs the configured Hydra launcher runs at once (1 outside a parallel launcher)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        n = HydraConfig.get().launcher.get("n_jobs") if HydraConfig.initialized() else None
    except Exception:
        n = None
    return max(1, int(n)) if isinstance(n, int) and n > 0 else 1


@contextlib.contextmanager
def lease(device: str, lease_dir: Path = LEASE_DIR, poll: float = 2.0) -> Iterator[DeviceLease]:
    """Hold one GPU for the block when ``device`` is "" (auto) and GPUs exist; else no lease."""
    gpus = visible_gpus() if device == "" else []
    slurm_job, slurm_cpus = os.environ.get("SLURM_JOB_ID"), os.environ.get("SLURM_CPUS_PER_TASK")
    if not gpus:
        jobs = parallel_jobs()
        threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 and device in ("", "cpu") else None
        yield DeviceLease(threads=int(slurm_cpus) if slurm_cpus else threads)  # a Slurm task: its CPUs
        return
    if slurm_job:  # Slurm gave this task its GPUs; another task on the node may see the same indices
        lease_dir = lease_dir / f"slurm-{slurm_job}"
    lease_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for gpu in gpus:
            handle = (lease_dir / f"gpu-{gpu}.lock").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield DeviceLease(
                    env={"CUDA_VISIBLE_DEVICES": gpu}, gpu=gpu, threads=int(slurm_cpus) if slurm_cpus else None
                )
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        time.sleep(poll)


def default_parallel_jobs() -> int:
    """Hydra resolver ``${ablation_parallel_jobs:}``: one job per visible GPU, else 2 CPU jobs."""
    return len(visible_gpus()) or 2


def register_resolvers() -> None:
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("ablation_parallel_jobs"):
        OmegaConf.register_new_resolver("ablation_parallel_jobs", default_parallel_jobs)
