"""Hydra sweeper for ablation grids: the grid and everything a sweep needs around its jobs.

- the jobs are ``ablation.grid.expand``'s entries: the swept grid plus the baseline
  (attention=none) once per model, seed and other swept value, each distinct config once;
- configs already FINISHED in the store (same ``config_hash``) are skipped;
- before any job starts, every other config is planned (surgery, dataset check, preflight with the
  dataset's class count); one that cannot train ends the command with exit 2, nothing trained;
- one parent MLflow run for the sweep (its id reaches every job as tracking.parent_run_id), and
  each job trains the yaml planned for it (``planned=...``);
- after the last job: the results table, one line per failed config, a non-zero exit if any failed.

With ``plan_only`` (``python -m ablation.plan``) it stops after planning: yamls, plan.csv, table.
Jobs go out through whichever Hydra launcher is configured (basic, joblib, submitit).
"""

# No ``from __future__ import annotations``: Hydra's plugin scan loads this file outside the
# import system, where dataclasses cannot resolve string annotations.
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore


@dataclass
class AblationSweeperConf:
    _target_: str = "hydra_plugins.ablation_sweeper.ablation_sweeper.AblationSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[dict[str, str]] = None
    plan_only: bool = False


ConfigStore.instance().store(group="hydra/sweeper", name="ablation", node=AblationSweeperConf, provider="ablation")


class AblationSweeper(BasicSweeper):
    def __init__(self, max_batch_size: Optional[int], params: Optional[dict[str, str]] = None, plan_only: bool = False) -> None:
        super().__init__(max_batch_size, params)
        self.plan_only = plan_only

    def sweep(self, arguments: list[str]) -> Any:
        from ablation.grid import ConfigError
        from ablation.sweep import SweepError

        assert self.config is not None and self.launcher is not None
        try:
            return self._sweep([*self._parse_config(), *arguments])
        except (ConfigError, SweepError) as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    def _sweep(self, arguments: list[str]) -> Any:
        from ablation.sweep import (
            finish_sweep, finished_hashes, grid_for, job_result, open_store, plan_children, plan_sweep, print_plan, start_sweep,
        )
        from ablation.planner import plan

        assert self.config is not None and self.launcher is not None
        assert self.hydra_context is not None
        loader, config = self.hydra_context.config_loader, self.config
        entries = grid_for(str(config.hydra.job.config_name), arguments, lambda job: loader.load_sweep_config(config, job))
        if self.plan_only:
            out = Path(str(self.config.out)).expanduser()
            code = print_plan(plan(entries, out, self.config.preflight), out)
            if code:
                sys.exit(code)
            return []
        done = finished_hashes(self.config)
        todo = [e for e in entries if e.config_hash not in done]
        sweep_dir = Path(str(self.config.hydra.sweep.dir)).resolve()
        rows = plan_sweep(todo, sweep_dir / "plan", self.config.preflight)
        store = open_store(self.config)
        jobs = [[*e.overrides, f"planned='{sweep_dir / 'plan' / rows[e.name].name}.json'"] for e in todo]
        batches = list(self.split_overrides_to_chunks(jobs, self.max_batch_size)) if jobs else []  # all done: none
        plan_children(len(jobs) if isinstance(self.launcher, BasicLauncher) else 0)
        sweep = start_sweep(store, arguments, sweep_dir, len(jobs), [e for e in entries if e.config_hash in done])
        parent = f"tracking.parent_run_id={sweep.run_id}"
        results: list[dict[str, Any]] = []
        returns: list[Sequence[Any]] = []
        index, complete = 0, False
        try:
            for batch in batches:
                launched = self.launcher.launch([[*job, parent] for job in batch], initial_job_idx=index)
                index += len(batch)
                returns.append(launched)
                results.extend(job_result(r) for r in launched)
            complete = True
        finally:
            plan_children(0)  # a child started for a job that never came
            failed = finish_sweep(sweep, results, interrupted=not complete)
        if failed:
            sys.exit(1)
        return returns
