"""Resume files shared by the engines: a complete copy of the package's ``last.pt`` kept after each
epoch, the epoch a checkpoint holds, and the results.csv rows of epochs a lost attempt trained.
No package is imported here (only torch, when a checkpoint is read)."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

RESUME_CHECKPOINT = "resume.pt"  # beside the package's last.pt, in <save_dir>/weights


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
