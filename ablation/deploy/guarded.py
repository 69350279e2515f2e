"""Checks in child processes that may die: one that kills its process fails its own item only.

An exporter can end its process with a signal that no ``try`` catches (mlca's export dies with
SIGFPE at some sizes). ``run_guarded`` gives the items to at most ``workers`` spawned children
(torch imported once per child, items in runs of neighbours); each child reports over its pipe
before and after every item, so when one dies the item it was on is known: that item gets a
``Crashed`` result and a new child takes the rest of its run.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

# Where checks that may kill their process run: ``runner(task, items)`` is ``task(item)`` for each
# item, in order, a ``Crashed`` for the item its process died on (``run_guarded``, or the sweep's
# waiting training child: ``train.isolate.Children.call``). ``task``: a module-level function, or
# a ``functools.partial`` of one with keyword arguments.
Runner = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]


@dataclass(frozen=True)
class Crashed:
    """The child died while on this item (``exitcode``: negative for a signal, as multiprocessing's)."""

    exitcode: int | None

    def sentence(self) -> str:
        code = self.exitcode
        if code is not None and code < 0:
            try:
                return f"the process died of signal {signal.Signals(-code).name}"
            except ValueError:
                return f"the process died of signal {-code}"
        return f"the process exited with status {code}"


def _serve(task: Callable[[Any], Any], items: list[tuple[int, Any]], conn: Connection, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    for index, item in items:
        conn.send(("start", index, None))
        conn.send(("done", index, task(item)))
    conn.close()


def run_guarded(task: Callable[[Any], Any], items: Sequence[Any], workers: int = 2) -> list[Any]:
    """``task(item)`` for each item, in order, each in a child process; ``Crashed`` for the item a
    child died on. ``task`` must be importable (a module-level function) and return picklable data."""
    if not items:
        return []
    workers = max(1, min(workers, len(items), os.cpu_count() or 1))
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")  # never fork a process that has torch loaded
    size = -(-len(items) // workers)
    waiting = [list(range(i, min(i + size, len(items)))) for i in range(0, len(items), size)]
    results: list[Any] = [None] * len(items)
    running: dict[Connection, tuple[Any, list[int]]] = {}  # pipe → (process, its items not yet done)

    def start(indices: list[int]) -> None:
        parent, child = context.Pipe(duplex=False)
        process = context.Process(
            target=_serve, args=(task, [(i, items[i]) for i in indices], child, threads), daemon=True
        )
        process.start()
        child.close()
        running[parent] = (process, list(indices))

    for run in waiting:
        start(run)
    while running:
        for conn in wait(list(running)):
            assert isinstance(conn, Connection)
            process, left = running[conn]
            try:
                kind, index, value = conn.recv()
            except EOFError:  # the child is gone: done, or dead on the first item it did not finish
                del running[conn]
                process.join()
                if left:
                    results[left[0]] = Crashed(process.exitcode)
                    if left[1:]:
                        start(left[1:])
                continue
            if kind == "done":
                results[index] = value
                left.remove(index)
    return results
