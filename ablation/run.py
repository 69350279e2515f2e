"""``python -m ablation.run attention=simam,ema placement=neck``: plan, sweep and train the grid.

The command only; the job it runs per config is ``ablation.job.task.run``.
"""

from __future__ import annotations

from ablation.config.errors import plugin_exit


def main() -> None:
    with plugin_exit():  # ablation.job.task imports ablation.attention, hence the ABLATION_PLUGINS modules
        from ablation.job.task import main as run

        run()


if __name__ == "__main__":
    main()
