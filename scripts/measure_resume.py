"""How far a resumed run is from an uninterrupted one (docs/reliability.md).

    python scripts/measure_resume.py OUT [EPOCHS] [KILL_AFTER] [override ...]

Trains one config (the overrides; by default the tests' tiny yolov5n baseline) twice, each in
its own store under OUT: once uninterrupted, once with its training process killed (SIGKILL)
after epoch KILL_AFTER was checkpointed and then the same command again (it resumes). Prints both
per-epoch histories side by side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("train/box_loss", "train/obj_loss", "val/box_loss", "mAP50", "mAP50-95")
TINY = [
    "model=yolov5n",
    "train.imgsz=64",
    "train.batch=4",
    "train.workers=0",
    "data.train=16",
    "data.val=8",
    "data.imgsz=64",
    "evaluate.latency.imgsz=64",
    "evaluate.latency.repeats=3",
]


def command(store: Path, epochs: int, extra: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ablation.run",
        f"train.epochs={epochs}",
        "train.device=cpu",
        f"tracking.uri=sqlite:///{store / 'mlflow.db'}",
        *extra,
    ]


def worker_pids(tmp: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "ablation.train.worker" in cmdline and str(tmp) in cmdline:
            pids.append(int(proc.name))
    return pids


def interrupted(store: Path, epochs: int, kill_after: int, extra: list[str]) -> None:
    tmp = store / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ABLATION_QUIET": "1", "TMPDIR": str(tmp)}
    sweep = subprocess.Popen(command(store, epochs, extra), cwd=store, env=env, stdout=subprocess.DEVNULL)
    while not any(f'"step": {kill_after},' in e.read_text() for e in store.glob("runs/*/0/events.jsonl")):
        if sweep.poll() is not None:
            raise SystemExit("the sweep ended before the epoch to kill after")
        time.sleep(0.2)
    for pid in worker_pids(tmp):
        os.kill(pid, signal.SIGKILL)
    sweep.wait()
    subprocess.run(command(store, epochs, extra), cwd=store, env=env, stdout=subprocess.DEVNULL, check=True)


def history(store: Path) -> dict[str, dict[int, float]]:
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("ablation")
    [run] = [r for r in client.search_runs([experiment.experiment_id]) if "config_hash" in r.data.tags]
    out = {k: {m.step: m.value for m in client.get_metric_history(run.info.run_id, k)} for k in KEYS}
    out["tags"] = {k: v for k, v in run.data.tags.items() if k.startswith("resumed")}  # type: ignore[assignment]
    return out


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    kill_after = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    extra = sys.argv[4:] or TINY
    (out / "uninterrupted").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ABLATION_QUIET": "1"}
    straight = subprocess.Popen(
        command(out / "uninterrupted", epochs, extra), cwd=out / "uninterrupted", env=env, stdout=subprocess.DEVNULL
    )
    interrupted(out / "resumed", epochs, kill_after, extra)
    assert straight.wait() == 0
    a, b = history(out / "uninterrupted"), history(out / "resumed")
    print(json.dumps({"uninterrupted": a, "resumed": b}, indent=1))
    for key in KEYS:
        for step in sorted(a[key]):
            print(f"{key:16s} epoch {step}: {a[key][step]:.5f}  resumed {b[key].get(step, float('nan')):.5f}")


if __name__ == "__main__":
    main()
