"""Hydra sweeper for ablation grids: Hydra's basic sweeper plus what a sweep needs around it.

- the grid gets the baseline (attention=none) once per model, seed and other swept values;
- before any job starts: every job's config composes (Hydra's check), the dataset is validated
  (one sentence and no training if it is unusable), the MLflow store and experiment exist, and
  one parent run is opened for the sweep (its id reaches every job as tracking.parent_run_id);
- after the last job: the results table, one line per failed config, a non-zero exit if any failed.

Jobs still go out through whichever Hydra launcher is configured (basic, joblib, submitit).
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
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override


@dataclass
class AblationSweeperConf:
    _target_: str = "hydra_plugins.ablation_sweeper.ablation_sweeper.AblationSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[dict[str, str]] = None


ConfigStore.instance().store(group="hydra/sweeper", name="ablation", node=AblationSweeperConf, provider="ablation")


class AblationSweeper(BasicSweeper):
    @staticmethod
    def split_arguments(overrides: list[Override], max_batch_size: int | None) -> list[list[list[str]]]:
        from ablation.grid import with_baselines

        jobs = with_baselines(BasicSweeper.split_arguments(overrides, None)[0])
        return list(BasicSweeper.split_overrides_to_chunks(jobs, max_batch_size))

    def sweep(self, arguments: list[str]) -> Any:
        from ablation.sweep import (
            SweepError, finish_sweep, job_result, plan_children, start_sweep, unique_jobs, validate_jobs,
        )

        assert self.config is not None and self.launcher is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        batches = self.split_arguments(parser.parse_overrides([*self._parse_config(), *arguments]), self.max_batch_size)
        jobs = [job for batch in batches for job in batch]
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        try:
            configs = [self.hydra_context.config_loader.load_sweep_config(self.config, list(j)) for j in jobs]
            validate_jobs(configs, sweep_dir)
        except SweepError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        keep = unique_jobs(jobs, configs)  # e.g. the default attention is the baseline already
        batches = [[job for job in batch if id(job) in keep] for batch in batches]
        batches = [batch for batch in batches if batch]
        jobs = [job for batch in batches for job in batch]
        plan_children(len(jobs) if isinstance(self.launcher, BasicLauncher) else 0)
        sweep = start_sweep(self.config, arguments, len(jobs))
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
