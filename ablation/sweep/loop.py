"""The submitting process of a sweep, start to end: the grid expanded once, every config planned,
one parent run, round after round of jobs through Hydra's launcher, the summary.

The ``ablation`` Hydra sweeper (``hydra_plugins/ablation_sweeper``) is a thin delegate to
:func:`sweep_grid`: it hands over the sweep's config, its overrides, how Hydra composes one job's
config and how Hydra's launcher launches a batch of jobs. Everything the sweep knows lives in its
``Sweep`` object (``ablation.sweep.core``) and in the tracking store, nothing in module globals.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ablation.config.compose import ConfigError
from ablation.config.grid import GridEntry, expand
from ablation.sweep.core import (
    Sweep,
    SweepError,
    check_tracking,
    finish_sweep,
    job_result,
    open_store,
    plan_sweep,
    print_plan,
    start_sweep,
    triage,
)

# The launcher that runs every job in this process, one after another (Hydra's default).
IN_PROCESS_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"

#: Hydra's ``Launcher.launch``: job override lists and the first job's index → one result per job
Launch = Callable[[list[list[str]], int], Sequence[Any]]


def sweep_grid(
    config: DictConfig,
    arguments: list[str],
    compose_with: Callable[[list[str]], DictConfig],
    launch: Launch,
    max_batch_size: int | None = None,
    plan_only: bool = False,
) -> list[Sequence[Any]]:
    """The whole sweep of this command line. Bad input: one ``error:`` line and exit 2, before
    anything is planned or trained; a failed config: exit 1 after the summary."""
    try:
        return _sweep(config, arguments, compose_with, launch, max_batch_size, plan_only)
    except (ConfigError, SweepError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


def _sweep(
    config: DictConfig,
    arguments: list[str],
    compose_with: Callable[[list[str]], DictConfig],
    launch: Launch,
    max_batch_size: int | None,
    plan_only: bool,
) -> list[Sequence[Any]]:
    from ablation.job.claim import Timing
    from ablation.plan.control import with_controls
    from ablation.plan.planner import plan
    from ablation.sweep.rounds import print_prior, rounds

    entries = expand(str(config.hydra.job.config_name), arguments, compose_with)
    entries, controls = with_controls(entries, str(config.hydra.job.config_name), compose_with)
    for control in controls:  # the wider baselines and the GFLOPs they reach
        print(control.line())
    # The store is checked once, before anything else reads it (the power estimate does): an
    # unreachable server is refused in seconds, not after MLflow's minutes of retries.
    if plan_only:
        check_tracking(config)
        print_prior(config, entries)  # what earlier runs say this grid can detect
        out = Path(str(config.out)).expanduser()
        code = print_plan(plan(entries, out, config.preflight), out)
        if code:
            sys.exit(code)
        return []
    store = open_store(config)
    print_prior(config, entries)  # what earlier runs say this grid can detect, before anything trains
    timing = Timing.of(config.tracking)
    grid = triage(store, entries, timing.stale_after_s)
    sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
    # Configs trained elsewhere are planned too: if their process is lost, they resume here.
    plan_sweep([*grid.todo, *grid.elsewhere], sweep_dir / "plan", config.preflight)
    sweep = start_sweep(config, store, arguments, sweep_dir, grid)
    jobs = Jobs(launch, max_batch_size, in_process=_in_process(config))
    returns: list[Sequence[Any]] = []
    complete = False
    try:
        # the fixed design: one round of every config; adaptive seeds: round after round
        for todo in itertools.chain(rounds(config, entries, grid, sweep.store), [[]]):  # []: wait for the rest
            while todo or sweep.elsewhere:
                if todo:
                    returns.extend(jobs.round(sweep, todo))
                todo = sweep.wait(timing)
        complete = True
    finally:
        jobs.expect_children(0)  # a child started for a job that never came
        failed = finish_sweep(sweep, list(sweep.results.values()), interrupted=not complete)
    if failed:
        sys.exit(1)
    return returns


class Jobs:
    """Launching rounds of configs through Hydra's launcher, in batches of ``max_batch_size``."""

    def __init__(self, launch: Launch, max_batch_size: int | None, in_process: bool) -> None:
        self.launch, self.max_batch_size, self.in_process = launch, max_batch_size, in_process
        self.launched = 0  # jobs launched so far (Hydra numbers job folders from it)

    def round(self, sweep: Sweep, entries: list[GridEntry]) -> list[Sequence[Any]]:
        """Launch these configs' jobs and collect their results into ``sweep``."""
        self.expect_children(len(entries))
        returns = []
        for batch in _chunks(entries, self.max_batch_size):
            launched = self.launch([sweep.job(e) for e in batch], self.launched)
            self.launched += len(batch)
            returns.append(launched)
            sweep.collect(batch, [job_result(r) for r in launched])
        return returns

    def expect_children(self, jobs: int) -> None:
        """On the in-process launcher, each config's training child starts while the previous
        one trains; other launchers run jobs in processes of their own."""
        from ablation.train.isolate import CHILDREN

        CHILDREN.expect(jobs if self.in_process else 0)
        if not jobs or not self.in_process:
            CHILDREN.discard()


def _in_process(config: DictConfig) -> bool:
    return str(config.hydra.launcher.get("_target_", "")) == IN_PROCESS_LAUNCHER


def _chunks(items: list[Any], size: int | None) -> Iterator[list[Any]]:
    size = size if size and size > 0 else max(1, len(items))
    for i in range(0, len(items), size):
        yield items[i : i + size]
