"""``python -m ablation.train.worker JOB.json``: one config's training, in its own process.

The sweep's job process starts it and waits; a crash, OOM kill or leak here cannot take the
sweep down. Started as ``worker --standby EARLY.log`` (``isolate.prestart``), it imports the
training stack first, then reads ``{"job": JOB.json, "log": LOG}`` from stdin; its output from
then on goes to LOG, after what it printed while waiting (EARLY.log). The child never touches
MLflow: per-epoch metrics and notes are appended to ``events.jsonl`` next to JOB.json, which the
waiting job process logs as they come. After training, best.pt is evaluated here too (COCO
metrics on the detections of upstream's final validation, latency: ``ablation.evaluate``). The
outcome is written there too, as ``result.json`` or, on failure, ``error.txt`` with the traceback.
A child dies with the job process that started it (``--parent PID``): an orphan would train on,
unrecorded, into a folder a re-run resumes from.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

RESULT, ERROR, EVENTS = "result.json", "error.txt", "events.jsonl"
CALL = "call"  # a request to a waiting child before its job: run a function on items (``isolate.Standby.call``)
ENGINE_ENV = "ABLATION_ENGINE"  # in a waiting child's environment: the engine it preloads (``isolate.child_environ``)


def main(argv: list[str]) -> int:
    if "--parent" in argv:
        at = argv.index("--parent")
        die_with_parent(int(argv[at + 1]))
        argv = argv[:at] + argv[at + 2 :]
    if argv[0] == "--standby":
        return standby(Path(argv[1]))
    return train(Path(argv[0]))


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when ``parent`` exits (Linux ``PR_SET_PDEATHSIG``), even by kill -9."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def standby(early_output: Path) -> int:
    """Import the training stack of the engine ``ENGINE_ENV`` names, then wait for the job
    on stdin (none: the sweep ended)."""
    try:
        from ablation.engines import engine

        engine(os.environ.get(ENGINE_ENV) or None).preload()
    except KeyboardInterrupt:
        return 130
    except Exception:
        pass
    while True:
        try:
            line = sys.stdin.readline()
        except KeyboardInterrupt:
            return 130
        if not line.strip() or CALL not in json.loads(line):
            break
        answer(json.loads(line), early_output)
    if not line.strip():
        early_output.unlink(missing_ok=True)
        return 0
    handoff = json.loads(line)
    log = Path(handoff["log"])
    if early_output.is_file():
        with log.open("ab") as sink:
            sink.write(early_output.read_bytes())
        early_output.unlink()
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND)
    os.dup2(descriptor, sys.stdout.fileno())
    os.dup2(descriptor, sys.stderr.fileno())
    os.close(descriptor)
    return train(Path(handoff["job"]))


def answer(request: dict[str, Any], early_output: Path) -> None:
    """Run ``request``'s function on each of its items, appending each result to its reply file as
    it comes (8 bytes of length, then the pickle). What the checks print is not kept: the early
    output goes to the first job's log."""
    import importlib
    import pickle

    module, name = request[CALL].split(":")
    function = getattr(importlib.import_module(module), name)
    kept = early_output.stat().st_size if early_output.is_file() else 0
    with open(request["reply"], "ab") as reply:
        for item in request["items"]:
            data = pickle.dumps(function(item, **request["kwargs"]))
            reply.write(len(data).to_bytes(8, "little") + data)
            reply.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    if early_output.is_file():
        os.truncate(early_output, kept)
        os.lseek(sys.stdout.fileno(), kept, os.SEEK_SET)


def train(job_file: Path) -> int:
    job: dict[str, Any] = json.loads(job_file.read_text())
    folder = job_file.parent
    try:
        with (folder / EVENTS).open("a") as events:

            def emit(kind: str, **data: Any) -> None:
                events.write(json.dumps({"kind": kind, **data}) + "\n")
                events.flush()

            import torch

            from ablation.engines import engine
            from ablation.evaluate import evaluate_trained
            from ablation.evaluate.final import Detections

            if job.get("threads"):
                torch.set_num_threads(int(job["threads"]))
            emit("params", values={"torch_threads": str(torch.get_num_threads())})
            final = Detections()  # upstream's final validation of best.pt: the COCO metrics' detections
            result = engine(job.get("engine")).train(
                job["options"],
                on_epoch=lambda epoch, values: emit("metrics", step=epoch, values=values),
                on_note=lambda values: emit("params", values=values),
                observers=final.callbacks(),
            )
            evaluation = evaluate_trained(job, result.best, folder, final)  # errors become *_error entries
        record = {**asdict(result), "images_per_second": result.images_per_second, **evaluation}
        (folder / RESULT).write_text(json.dumps(record, default=str, indent=1))
        return 0
    except BaseException:
        (folder / ERROR).write_text(traceback.format_exc())
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
