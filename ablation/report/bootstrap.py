"""Paired bootstrap over validation images: is a config's AP different from its baseline's,
when both were trained once (one seed)?

Each resample draws the validation images with replacement; the config and its baseline are
scored on the same resample, so image difficulty cancels out of the difference. The interval
is the 2.5 and 97.5 percentiles of the resampled differences; the point estimate is the
difference on the whole set.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cocoap import IOU_50, IOU_50_95, match

PREDICTIONS, TRUTH = "eval/predictions.json", "eval/instances_val.json"
# the metric the verdict is about → the IoU thresholds of its COCO counterpart
THRESHOLDS = {"mAP50": IOU_50, "coco/AP50": IOU_50, "mAP50-95": IOU_50_95, "coco/AP": IOU_50_95}


@dataclass(frozen=True)
class Interval:
    delta: float
    lo: float
    hi: float


def paired_bootstrap(
    truth: dict[str, Any], config: Sequence[dict[str, Any]], baseline: Sequence[dict[str, Any]],
    thresholds: Sequence[float] = IOU_50, resamples: int = 1000, seed: int = 0,
) -> Interval:
    """AP(config) - AP(baseline) on the whole set, with the percentile interval over
    ``resamples`` image resamples (a fixed ``seed``: the same answer every time)."""
    ours, theirs = match(truth, config, thresholds), match(truth, baseline, thresholds)
    n = len(ours.image_ids)
    rng = np.random.default_rng(seed)
    deltas = np.empty(resamples)
    for b in range(resamples):
        images = rng.integers(0, n, n)
        deltas[b] = ours.average_precision(images) - theirs.average_precision(images)
    deltas = deltas[np.isfinite(deltas)]
    lo, hi = np.percentile(deltas, [2.5, 97.5]) if len(deltas) else (np.nan, np.nan)
    return Interval(ours.average_precision() - theirs.average_precision(), float(lo), float(hi))


def run_bootstrap(
    uri: str, run_id: str, baseline_run_id: str, metric: str, resamples: int = 1000, seed: int = 0
) -> Interval | None:
    """``paired_bootstrap`` of two MLflow runs from their ``eval/`` artifacts; None when either
    run has none (or ``metric`` has no COCO counterpart)."""
    if metric not in THRESHOLDS:
        return None
    try:
        truth = _artifact(uri, run_id, TRUTH)
        config, baseline = _artifact(uri, run_id, PREDICTIONS), _artifact(uri, baseline_run_id, PREDICTIONS)
    except Exception:  # noqa: BLE001 - no artifacts (older runs, evaluation switched off): no bootstrap
        return None
    return paired_bootstrap(truth, config, baseline, THRESHOLDS[metric], resamples, seed)


def _artifact(uri: str, run_id: str, path: str) -> Any:
    import mlflow.artifacts

    with tempfile.TemporaryDirectory() as folder:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, dst_path=folder, tracking_uri=uri)
        return json.loads(Path(local).read_text())
