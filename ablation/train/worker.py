"""``python -m ablation.train.worker JOB.json``: one config's training, in its own process.

The sweep's job process starts it and waits; a crash, OOM kill or leak here cannot take the
sweep down. The child never touches MLflow: per-epoch metrics and notes are appended to
``events.jsonl`` next to JOB.json, which the waiting job process logs as they come. The outcome
is written there too, as ``result.json`` or, on failure, ``error.txt`` with the traceback.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

RESULT, ERROR, EVENTS = "result.json", "error.txt", "events.jsonl"


def main(job_path: str) -> int:
    job_file = Path(job_path)
    job: dict[str, Any] = json.loads(job_file.read_text())
    folder = job_file.parent
    try:
        with (folder / EVENTS).open("a") as events:

            def emit(kind: str, **data: Any) -> None:
                events.write(json.dumps({"kind": kind, **data}) + "\n")
                events.flush()

            import torch

            from .engine import train_upstream

            if job.get("threads"):
                torch.set_num_threads(int(job["threads"]))
            emit("params", values={"torch_threads": str(torch.get_num_threads())})
            result = train_upstream(
                job["options"],
                on_epoch=lambda epoch, values: emit("metrics", step=epoch, values=values),
                on_note=lambda values: emit("params", values=values),
            )
        record = {**asdict(result), "images_per_second": result.images_per_second}
        (folder / RESULT).write_text(json.dumps(record, default=str, indent=1))
        return 0
    except BaseException:  # noqa: BLE001 - everything, KeyboardInterrupt included, is recorded
        (folder / ERROR).write_text(traceback.format_exc())
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
