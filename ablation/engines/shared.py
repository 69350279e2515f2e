"""What the engines' adapters share: the training result, the resume files (a complete copy of
the package's ``last.pt`` kept after each epoch, the epoch a checkpoint holds, the results.csv
rows of epochs a lost attempt trained) and the launch environment. No package is imported here
(only torch, when a checkpoint is read)."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

RESUME_CHECKPOINT = "resume.pt"  # beside the package's last.pt, in <save_dir>/weights


class EngineBase:
    """What both engine objects share: ``setup`` registers our modules once per process (the
    engine's ``_register`` does it), and the resume checkpoint's file name."""

    resume_checkpoint = RESUME_CHECKPOINT

    def __init__(self) -> None:
        self._registered: list[str] = []

    def setup(self) -> list[str]:
        """Idempotent: patch the package and register our modules; the registered class names."""
        if not self._registered:
            self._registered.extend(self._register())
        return self._registered

    def _register(self) -> list[str]:
        raise NotImplementedError


@dataclass
class TrainResult:
    save_dir: Path
    epochs: list[dict[str, float]] = field(default_factory=list)  # trained in this attempt
    final: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    best: Path | None = None
    images: int = 0  # training images seen
    batch_seconds: float = 0.0  # time in training batches (no validation, no setup)
    gpu_mem_peak_gb: float | None = None

    @property
    def images_per_second(self) -> float:
        return self.images / self.batch_seconds if self.batch_seconds else 0.0


def restored_environ(launch: Mapping[str, str] | None, keys: tuple[str, ...]) -> dict[str, str]:
    """This process's environment with ``keys`` as they were in ``launch`` (the environment before
    a package's import changed them; ``None``: nothing was recorded, nothing to restore)."""
    env = dict(os.environ)
    if launch is None:
        return env
    for key in keys:
        if key in launch:
            env[key] = launch[key]
        else:
            env.pop(key, None)
    return env


def keep_checkpoint(last: Path) -> Path:
    """A complete copy of the package's ``last.pt`` as ``resume.pt``, replaced atomically."""
    kept = last.with_name(RESUME_CHECKPOINT)
    partial = last.with_name(RESUME_CHECKPOINT + ".partial")
    shutil.copyfile(last, partial)
    with partial.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, kept)
    return kept


def checkpoint_epoch(checkpoint: Path) -> int:
    """The last epoch a checkpoint holds (memory-mapped: the tensors are not read)."""
    import torch

    return int(torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)["epoch"])


def forget_after(results_csv: Path, epoch: int) -> None:
    """Drop the rows whose first column (the epoch) is after ``epoch`` from a results.csv: they
    were trained by an attempt that was lost; the package's resume would append them again."""
    if not results_csv.is_file():
        return
    lines = results_csv.read_text().splitlines(keepends=True)
    kept = lines[:1] + [line for line in lines[1:] if int(float(next(csv.reader([line]))[0])) <= epoch]
    results_csv.write_text("".join(kept))
