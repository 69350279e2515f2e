"""``result.json``'s evaluation entries → what a run logs in MLflow (no torch, no upstream).

Metrics ``coco/AP``, ``coco/AP50``, ... and per runtime (``schema.RUNTIMES``) ``<stem>_ms`` and
``<stem>_p90_ms``: ``latency_*`` (PyTorch), ``latency_ort_*`` (ONNX Runtime, CPU) and ``latency_ov_*``
(OpenVINO, CPU); the wall time of each part, ``coco_seconds`` and ``<stem>_seconds`` (logged by the
caller at step = epochs, beside upstream's final metrics); params ``coco_source`` (the detections'
origin), ``latency_device``, ``latency_imgsz``, ``latency_repeats``, ``latency_warmup``,
``latency_precision`` and each deployed runtime's ``<stem>_device``; tags ``coco_error`` /
``<stem>_error`` when a part failed; artifacts ``eval/instances_val.json`` and ``eval/predictions.json``.
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
    LATENCY_SETTINGS,
    PYTORCH,
    RUNTIMES,
    latency_param,
)

# wall time of each evaluation part (result.json's keys too)
SECONDS = (COCO_SECONDS, *(runtime.seconds for runtime in RUNTIMES))


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
    for runtime in RUNTIMES:
        timed = result.get(runtime.stem)
        if not timed:
            continue
        metrics.update({runtime.ms: float(timed["median_ms"]), runtime.p90_ms: float(timed["p90_ms"])})
        if runtime == PYTORCH:  # the settings all runtimes share, and PyTorch's device
            params.update({latency_param(k): str(timed[k]) for k in LATENCY_SETTINGS})
        else:  # same size, warm-up and repeats as PyTorch's; its own device label (the CPU's threads)
            params[runtime.device] = str(timed["device"])
    if result.get("coco_source"):
        params[COCO_SOURCE] = str(result["coco_source"])
    metrics.update({k: float(result[k]) for k in SECONDS if result.get(k) is not None})
    tags = {k: str(result[k]) for k in EVALUATION_ERRORS if result.get(k)}  # result.json's keys are the tags
    artifacts = [Path(p) for p in (result.get("eval_files") or {}).values() if Path(p).is_file()]
    return Records(metrics, params, tags, artifacts)
