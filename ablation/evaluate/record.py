"""``result.json``'s evaluation entries → what a run logs in MLflow (no torch, no upstream).

Metrics ``coco/AP``, ``coco/AP50``, ... and ``latency_ms``, ``latency_p90_ms`` (PyTorch),
``latency_ort_ms``, ``latency_ort_p90_ms`` (ONNX Runtime, CPU; param ``latency_ort_device``), and the
wall time of each part, ``coco_seconds``, ``latency_seconds`` and ``latency_ort_seconds`` (logged by the caller at step = epochs,
beside upstream's final metrics); params ``coco_source`` (the detections' origin),
``latency_device``, ``latency_imgsz``, ``latency_repeats``, ``latency_warmup``, ``latency_precision``; tags
``coco_error`` / ``latency_error`` / ``latency_ort_error`` when a part failed; artifacts ``eval/instances_val.json`` and
``eval/predictions.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ablation.track.schema import (
    COCO_PREFIX,
    COCO_SECONDS,
    COCO_SOURCE,
    EVAL_DIR,
    EVALUATION_ERRORS,
    LATENCY_MS,
    LATENCY_ORT_DEVICE,
    LATENCY_ORT_MS,
    LATENCY_ORT_P90_MS,
    LATENCY_ORT_SECONDS,
    LATENCY_P90_MS,
    LATENCY_SECONDS,
    LATENCY_SETTINGS,
    latency_param,
)

SECONDS = (
    COCO_SECONDS,
    LATENCY_SECONDS,
    LATENCY_ORT_SECONDS,
)  # wall time of each evaluation part (result.json's keys too)


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
        metrics.update({LATENCY_MS: float(latency["median_ms"]), LATENCY_P90_MS: float(latency["p90_ms"])})
        params = {latency_param(k): str(latency[k]) for k in LATENCY_SETTINGS}
    ort = result.get("latency_ort")
    if ort:  # same size, warm-up and repeats as PyTorch's; its own device label (the CPU's threads)
        metrics.update({LATENCY_ORT_MS: float(ort["median_ms"]), LATENCY_ORT_P90_MS: float(ort["p90_ms"])})
        params[LATENCY_ORT_DEVICE] = str(ort["device"])
    if result.get("coco_source"):
        params[COCO_SOURCE] = str(result["coco_source"])
    metrics.update({k: float(result[k]) for k in SECONDS if result.get(k) is not None})
    tags = {k: str(result[k]) for k in EVALUATION_ERRORS if result.get(k)}  # result.json's keys are the tags
    artifacts = [Path(p) for p in (result.get("eval_files") or {}).values() if Path(p).is_file()]
    return Records(metrics, params, tags, artifacts)
