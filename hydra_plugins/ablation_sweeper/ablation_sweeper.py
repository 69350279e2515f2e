"""Hydra sweeper for ablation grids: the grid and everything a sweep needs around its jobs.

- the jobs are ``ablation.config.grid.expand``'s entries: the swept grid plus the baseline
  (attention=none) once per model, seed and other swept value, each distinct config once;
- configs already FINISHED in the store (same ``config_hash``) are skipped; configs another live
  process trains (a sweep whose submitter was killed, another submitter) are waited for, not
  trained twice; configs stopped from outside are launched again and resume (``ablation.job.claim``);
- before any job starts, every other config is planned (surgery, dataset check, preflight with the
  dataset's class count); one that cannot train ends the command with exit 2, nothing trained;
- one parent MLflow run for the sweep (its id reaches every job as tracking.parent_run_id), and
  each job trains the yaml planned for it (``planned=...``);
- after the last job: the results table, one line per failed config, a non-zero exit if any failed.

With ``plan_only`` (``python -m ablation.plan``) it stops after planning: yamls, plan.csv, table.
Jobs go out through whichever Hydra launcher is configured (basic, joblib, submitit), in rounds:
``_launch_round`` launches a list of configs and collects their results; the sweep loops until no
config is left to train or to wait for. Only Hydra's public plugin API is used.
"""

# No ``from __future__ import annotations``: Hydra's plugin scan loads this file outside the
# import system, where dataclasses cannot resolve string annotations.
import itertools
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

# The launcher that runs every job in this process, one after another (Hydra's default).
IN_PROCESS_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


@dataclass
class AblationSweeperConf:
    _target_: str = "hydra_plugins.ablation_sweeper.ablation_sweeper.AblationSweeper"
    max_batch_size: int | None = None
    params: dict[str, str] | None = None
    plan_only: bool = False


ConfigStore.instance().store(group="hydra/sweeper", name="ablation", node=AblationSweeperConf, provider="ablation")


class AblationSweeper(Sweeper):
    def __init__(
        self, max_batch_size: int | None, params: dict[str, str] | None = None, plan_only: bool = False
    ) -> None:
        super().__init__()
        self.max_batch_size = max_batch_size
        self.params = params or {}
        self.plan_only = plan_only
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None
        self.launched = 0  # jobs launched so far (Hydra numbers job folders from it)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from ablation.config.compose import ConfigError
        from ablation.sweep.core import SweepError

        assert self.config is not None and self.launcher is not None
        try:
            return self._sweep([*(f"{k}={v}" for k, v in self.params.items()), *arguments])
        except (ConfigError, SweepError) as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    def _sweep(self, arguments: list[str]) -> Any:
        from ablation.job.claim import Timing
        from ablation.plan.planner import plan
        from ablation.sweep.core import (
            check_tracking,
            finish_sweep,
            grid_for,
            open_store,
            plan_sweep,
            print_plan,
            start_sweep,
            triage,
        )
        from ablation.sweep.rounds import print_prior, rounds

        assert self.config is not None and self.hydra_context is not None
        loader, config = self.hydra_context.config_loader, self.config
        entries = grid_for(
            str(config.hydra.job.config_name), arguments, lambda job: loader.load_sweep_config(config, job)
        )
        # The store is checked once, before anything else reads it (the power estimate does): an
        # unreachable server is refused in seconds, not after MLflow's minutes of retries.
        if self.plan_only:
            check_tracking(self.config)
            print_prior(self.config, entries)  # what earlier runs say this grid can detect
            out = Path(str(self.config.out)).expanduser()
            code = print_plan(plan(entries, out, self.config.preflight), out)
            if code:
                sys.exit(code)
            return []
        store = open_store(self.config)
        print_prior(self.config, entries)  # what earlier runs say this grid can detect, before anything trains
        timing = Timing.of(self.config.tracking)
        grid = triage(store, entries, timing.stale_after_s)
        sweep_dir = Path(str(self.config.hydra.sweep.dir)).resolve()
        # Configs trained elsewhere are planned too: if their process is lost, they resume here.
        plan_sweep([*grid.todo, *grid.elsewhere], sweep_dir / "plan", self.config.preflight)
        sweep = start_sweep(self.config, store, arguments, sweep_dir, grid)
        returns: list[Sequence[Any]] = []
        complete = False
        try:
            # the fixed design: one round of every config; adaptive seeds: round after round
            for todo in itertools.chain(rounds(self.config, entries, grid, sweep.store), [[]]):  # []: wait for the rest
                while todo or sweep.elsewhere:
                    if todo:
                        returns.extend(self._launch_round(sweep, todo))
                    todo = sweep.wait(timing)
            complete = True
        finally:
            self._expect_children(0)  # a child started for a job that never came
            failed = finish_sweep(sweep, list(sweep.results.values()), interrupted=not complete)
        if failed:
            sys.exit(1)
        return returns

    def _launch_round(self, sweep: Any, entries: list[Any]) -> list[Sequence[Any]]:
        """Launch these configs' jobs (in batches of ``max_batch_size``) and collect their results."""
        from ablation.sweep.core import job_result

        assert self.launcher is not None
        self._expect_children(len(entries))
        returns = []
        for batch in _chunks(entries, self.max_batch_size):
            launched = self.launcher.launch([sweep.job(e) for e in batch], initial_job_idx=self.launched)
            self.launched += len(batch)
            returns.append(launched)
            sweep.collect(batch, [job_result(r) for r in launched])
        return returns

    def _expect_children(self, jobs: int) -> None:
        """On the in-process launcher, each config's training child starts while the previous
        one trains; other launchers run jobs in processes of their own."""
        from ablation.train.isolate import CHILDREN

        assert self.config is not None
        in_process = str(self.config.hydra.launcher.get("_target_", "")) == IN_PROCESS_LAUNCHER
        CHILDREN.expect(jobs if in_process else 0)
        if not jobs or not in_process:
            CHILDREN.discard()


def _chunks(items: list[Any], size: int | None) -> Iterator[list[Any]]:
    size = size if size and size > 0 else max(1, len(items))
    for i in range(0, len(items), size):
        yield items[i : i + size]
