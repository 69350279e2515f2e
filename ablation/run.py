"""``python -m ablation.run attention=simam,ema placement=neck``: plan, sweep and train the grid.

The command only; the job it runs per config is ``ablation.job.task.run``.
"""

from __future__ import annotations

from ablation.job.task import main

if __name__ == "__main__":
    main()
