"""Preflight many yamls in worker processes (torch is imported once per worker).

Items go to the workers in runs of neighbours (a plan lists the configs of one base model
together), and each run shares one ``FlopCache``: the layers a config shares with the ones
before it are not traced again. A few items run in this process, or, given a ``runner``
(``deploy.guarded.Runner``: the sweep's waiting training child, which has imported torch and the
engine already), there; if that process dies, each item is checked on its own so that only the
one it died on fails."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from ablation.deploy.guarded import Crashed, Runner
from ablation.plan.preflight.result import PreflightResult

# (yaml, number of classes[, engine name]): without a name, or None, the default engine builds it
Item = tuple[str, int | None] | tuple[str, int | None, str | None]

# A worker process costs about 7 CPU seconds before its first check (torch and the engine's
# imports) and a check 0.1-0.3 s: fewer checks than this run in this process, one import.
IN_PROCESS_BELOW = 24


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _check_run(items: list[Item], **options: int | bool) -> list[PreflightResult]:
    from ablation.plan.preflight.check import preflight
    from ablation.plan.preflight.flops import FlopCache

    cache = FlopCache()
    return [
        preflight(yaml, nc=nc, flops=cache, engine_name=name[0] if name else None, **options)  # type: ignore[arg-type]
        for yaml, nc, *name in items
    ]


def preflight_many(
    items: list[Item],
    imgsz: int = 64,
    gflops_imgsz: int = 640,
    workers: int = 2,
    step: bool = True,
    runner: Runner | None = None,
) -> list[PreflightResult]:
    """``preflight`` of each ``(yaml, number of classes[, engine name])``, in order."""
    check = partial(_check_run, imgsz=imgsz, gflops_imgsz=gflops_imgsz, step=step)
    workers = max(1, min(workers, len(items), os.cpu_count() or 1))
    if items and runner is not None and len(items) < IN_PROCESS_BELOW:
        return _run_by(runner, check, items)
    if workers == 1 or len(items) < IN_PROCESS_BELOW:
        return check(items)
    size = max(1, -(-len(items) // (workers * 4)))  # four runs per worker: balanced, few cold caches
    runs = [items[i : i + size] for i in range(0, len(items), size)]
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")  # never fork a process that has torch loaded
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(threads,)) as pool:
        return [result for run in pool.map(check, runs) for result in run]


def _run_by(runner: Runner, check: partial[list[PreflightResult]], items: list[Item]) -> list[PreflightResult]:
    """``check`` of all ``items`` in one call of ``runner``; if its process dies, one call per item."""
    (results,) = runner(check, [items])
    if not isinstance(results, Crashed):
        return list(results)
    out = []
    for item, result in zip(items, runner(check, [[item] for item in items])):
        if isinstance(result, Crashed):
            out.append(PreflightResult(item[0], error=f"building the model or its training step: {result.sentence()}"))
        else:
            out.append(result[0])
    return out
