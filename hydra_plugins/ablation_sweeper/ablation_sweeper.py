"""Hydra sweeper for ablation grids, a thin delegate to ``ablation.sweep.loop.sweep_grid``.

What a sweep does (the grid plus its baselines, FINISHED configs skipped, every config planned
before the first trains, one parent MLflow run, rounds of jobs through whichever Hydra launcher is
configured, the summary) is described there. With ``plan_only`` (``python -m ablation.plan``) it
stops after planning. Only Hydra's public plugin API is used.
"""

# No ``from __future__ import annotations``: Hydra's plugin scan loads this file outside the
# import system, where dataclasses cannot resolve string annotations.
from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


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

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from ablation.config.compose import sweep_composer
        from ablation.sweep.loop import sweep_grid

        assert self.config is not None and self.hydra_context is not None and self.launcher is not None
        loader, config, launcher = self.hydra_context.config_loader, self.config, self.launcher
        return sweep_grid(
            config,
            [*(f"{k}={v}" for k, v in self.params.items()), *arguments],
            compose_with=sweep_composer(loader, config),
            launch=lambda jobs, first: launcher.launch(jobs, initial_job_idx=first),
            max_batch_size=self.max_batch_size,
            plan_only=self.plan_only,
        )
