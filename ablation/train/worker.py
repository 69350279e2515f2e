"""``python -m ablation.train.worker JOB.json``: one config's training, in its own process.

The sweep's job process starts this and waits; a crash, OOM kill or leak here cannot take the
sweep down. Per-epoch metrics go straight to the job's MLflow run; the outcome is written next
to JOB.json as ``result.json`` or, on failure, ``error.txt`` with the traceback.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

RESULT, ERROR = "result.json", "error.txt"


def main(job_path: str) -> int:
    job_file = Path(job_path)
    job: dict[str, Any] = json.loads(job_file.read_text())
    folder = job_file.parent
    try:
        import torch

        from ..track.store import Store
        from .engine import train_upstream

        if job.get("threads"):
            torch.set_num_threads(int(job["threads"]))
        store = Store(job["tracking_uri"], job["experiment"]) if job.get("run_id") else None

        def on_epoch(epoch: int, values: dict[str, float]) -> None:
            if store is not None:
                store.log_metrics(job["run_id"], values, step=epoch)

        def on_note(values: dict[str, str]) -> None:
            if store is not None:
                store.log_params(job["run_id"], values)

        result = train_upstream(job["options"], on_epoch, on_note)
        record = {**asdict(result), "images_per_second": result.images_per_second}
        (folder / RESULT).write_text(json.dumps(record, default=str, indent=1))
        return 0
    except BaseException:  # noqa: BLE001 - everything, KeyboardInterrupt included, is recorded
        (folder / ERROR).write_text(traceback.format_exc())
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
