"""``result.json``'s evaluation entries → what a run logs in MLflow (no torch, no upstream).

Metrics ``coco/AP``, ``coco/AP50``, ... and ``latency_ms``, ``latency_p90_ms``, and the wall time
of each part, ``coco_seconds`` and ``latency_seconds`` (logged by the caller at step = epochs,
beside upstream's final metrics); params ``coco_source`` (the detections' origin),
``latency_device``, ``latency_imgsz``, ``latency_repeats``, ``latency_warmup``, ``latency_precision``; tags
``coco_error`` / ``latency_error`` when a part failed; artifacts ``eval/instances_val.json`` and
``eval/predictions.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ablation.evaluate import EVAL_DIR

COCO_PREFIX = "coco/"
ERROR_TAGS = ("coco_error", "latency_error")
SECONDS = ("coco_seconds", "latency_seconds")  # wall time of each evaluation part


@dataclass(frozen=True)
class Records:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[Path] = field(default_factory=list)
    folder: str = EVAL_DIR  # artifact folder of ``artifacts``


def records(result: dict[str, Any]) -> Records:
    """What to log for the evaluation entries of one ``result.json``."""
    metrics = {f"{COCO_PREFIX}{k}": float(v) for k, v in (result.get("coco") or {}).items()}
    params: dict[str, str] = {}
    latency = result.get("latency")
    if latency:
        metrics.update(latency_ms=float(latency["median_ms"]), latency_p90_ms=float(latency["p90_ms"]))
        params = {f"latency_{k}": str(latency[k]) for k in ("device", "imgsz", "repeats", "warmup", "precision")}
    if result.get("coco_source"):
        params["coco_source"] = str(result["coco_source"])
    metrics.update({k: float(result[k]) for k in SECONDS if result.get(k) is not None})
    tags = {k: str(result[k]) for k in ERROR_TAGS if result.get(k)}
    artifacts = [Path(p) for p in (result.get("eval_files") or {}).values() if Path(p).is_file()]
    return Records(metrics, params, tags, artifacts)
