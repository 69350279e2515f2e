"""``python -m ablation.plan model=yolov5s attention=se,simam placement=neck,after_c3 out=DIR``

The planning step of ``ablation.run`` alone: writes ``DIR/<name>.yaml`` per config and
``DIR/plan.csv``, prints the table, and exits 1 if any config cannot be planned or fails its
preflight (the others are still written). Same grid, names, dataset and class count as ``run``.
"""

from __future__ import annotations

from omegaconf import DictConfig

from ablation.config.command import launch


def _no_job(cfg: DictConfig) -> None:
    """Never called: ``conf/plan.yaml`` sets ``hydra.sweeper.plan_only``, so no job is launched."""


def main() -> None:
    launch("plan", _no_job)


if __name__ == "__main__":
    main()
