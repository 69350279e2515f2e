"""Synthetic MLflow stores with known numbers: 3 seeds of a baseline and four configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ablation.track import Store

EPOCHS = 3
SEEDS = (0, 1, 2)
BASE = {0: 0.30, 1: 0.35, 2: 0.40}  # mAP50-95 of the baseline per seed: seeds differ a lot
# paired differences to the baseline of the same seed (mAP50-95; mAP50 gets twice as much)
DELTAS = {
    "se": (0.020, 0.025, 0.030),  # clearly better
    "simam": (-0.020, -0.030, -0.025),  # clearly worse
    "eca": (0.050, -0.060, 0.010),  # noise
}
COSTS = {"none": (1.77e6, 4.2, 3.0), "se": (1.80e6, 4.3, 3.6), "simam": (1.77e6, 4.2, 3.1), "eca": (1.78e6, 4.25, 3.3)}


def log_run(
    store: Store,
    name: str,
    attention: str,
    seed: int,
    metrics: dict[str, float],
    status: str = "FINISHED",
    baseline: str = "none",
    artifacts: dict[str, object] | None = None,
) -> str:
    group = f"g-{attention}"
    tags = {
        "config_hash": f"{group}-s{seed}",
        "group_hash": group,
        "baseline_hash": f"g-{baseline}-s{seed}",
        "attention": attention,
        "placement": "-" if attention == "none" else "neck",
        "model": "yolov5n",
        "seed": str(seed),
    }
    if status != "FINISHED":
        tags["error"] = "RuntimeError: <boom> & co"
    run_id = store.start(name, tags)
    store.log_metrics(run_id, metrics, step=EPOCHS)
    if status == "FINISHED":  # per-epoch mAP50 rising to the final value; step EPOCHS = re-validation of best.pt
        for epoch in range(EPOCHS):
            store.log_metrics(run_id, {"mAP50": metrics["mAP50"] * (epoch + 1) / EPOCHS}, step=epoch)
    store.log_params(run_id, {"seed": seed, "train.epochs": EPOCHS, "train.imgsz": 64})
    for path, content in (artifacts or {}).items():
        local = Path(store.uri.removeprefix("sqlite:///")).parent / "tmp" / run_id / path
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(json.dumps(content))
        store.log_artifact(run_id, local, str(Path(path).parent))
    store.end(run_id, status)
    return run_id


def values(attention: str, seed: int) -> dict[str, float]:
    delta = DELTAS[attention][SEEDS.index(seed)] if attention in DELTAS else 0.0
    params, gflops, latency = COSTS[attention]
    m = BASE[seed] + delta
    return {
        "mAP50-95": m,
        "mAP50": 2 * m,
        "precision": 0.5,
        "recall": 0.5,
        "params": params,
        "gflops": gflops,
        "latency_ms": latency,
    }


@pytest.fixture(scope="session")
def store_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite store for every report test (creating one takes seconds)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('report') / 'mlflow.db'}"
    Store(uri, "synthetic").experiment_id  # noqa: B018 - creates it
    return uri


@pytest.fixture(scope="session")
def seeded_store(store_uri: str) -> str:
    """Experiment ``synthetic``: 3 seeds of the baseline, se, simam, eca; gam failed every time."""
    uri = store_uri
    store = Store(uri, "synthetic")
    sweep = store.start("sweep 1", {"sweep": "true"})
    store.end(sweep)
    for seed in SEEDS:
        log_run(store, "yolov5n-none", "none", seed, values("none", seed))
        for attention in DELTAS:
            log_run(store, f"yolov5n-{attention}-neck", attention, seed, values(attention, seed))
        log_run(store, "yolov5n-<gam>&-neck", "gam", seed, {}, status="FAILED")
    log_run(store, "yolov5n-se-neck", "se", 0, {}, status="FAILED")  # an older failed try of a finished config
    return uri
