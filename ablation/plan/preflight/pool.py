"""Preflight many yamls in worker processes (torch is imported once per worker)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from ablation.plan.preflight.check import PreflightResult, preflight


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _check(item: tuple[str, int | None], **options: int | bool) -> PreflightResult:
    yaml, nc = item
    return preflight(yaml, nc=nc, **options)  # type: ignore[arg-type]


def preflight_many(
    items: list[tuple[str, int | None]], imgsz: int = 64, gflops_imgsz: int = 640, workers: int = 2, step: bool = True
) -> list[PreflightResult]:
    """``preflight`` of each ``(yaml, number of classes)``, in order."""
    check = partial(_check, imgsz=imgsz, gflops_imgsz=gflops_imgsz, step=step)
    workers = max(1, min(workers, len(items), os.cpu_count() or 1))
    if workers == 1:
        return [check(item) for item in items]
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")  # never fork a process that has torch loaded
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(threads,)) as pool:
        return list(pool.map(check, items, chunksize=max(1, len(items) // (workers * 4))))
