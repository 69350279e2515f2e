"""Preflight many yamls in worker processes (torch is imported once per worker)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from .check import PreflightResult, preflight


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def preflight_many(
    yamls: list[str], imgsz: int = 64, gflops_imgsz: int = 640, workers: int = 2, nc: int | None = None
) -> list[PreflightResult]:
    check = partial(preflight, imgsz=imgsz, gflops_imgsz=gflops_imgsz, nc=nc)
    workers = max(1, min(workers, len(yamls), os.cpu_count() or 1))
    if workers == 1:
        return [check(y) for y in yamls]
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")  # never fork a process that has torch loaded
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(threads,)) as pool:
        return list(pool.map(check, yamls, chunksize=max(1, len(yamls) // (workers * 4))))
