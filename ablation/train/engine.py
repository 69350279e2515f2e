"""Adapter to the upstream YOLOv5 training engine (``yolov5.train``), unmodified.

``train_upstream`` does what ``yolov5.train.run(**options)`` does — ``parse_opt(True)``, set
the options, ``main(opt)`` — and only adds callbacks that observe (per-epoch metrics, a NaN
guard). Nothing here changes what upstream computes.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vendor.yolov5 import compat

# Order of the values upstream passes to ``on_fit_epoch_end`` (train.py's ``log_vals``).
EPOCH_KEYS = (
    "train/box_loss", "train/obj_loss", "train/cls_loss",
    "precision", "recall", "mAP50", "mAP50-95",
    "val/box_loss", "val/obj_loss", "val/cls_loss",
    "lr/pg0", "lr/pg1", "lr/pg2",
)
FINAL_KEYS = ("precision", "recall", "mAP50", "mAP50-95", "val/box_loss", "val/obj_loss", "val/cls_loss")


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN or infinite loss."""


@dataclass
class TrainResult:
    save_dir: Path
    epochs: list[dict[str, float]] = field(default_factory=list)
    final: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    best: Path | None = None


def upstream_options(options: dict[str, Any]) -> Any:
    """Upstream's own defaults (``parse_opt(True)`` without our argv), then ``options``."""
    from yolov5 import train

    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        opt = train.parse_opt(True)
    finally:
        sys.argv = argv
    for key, value in options.items():
        setattr(opt, key, value)
    return opt


def train_upstream(options: dict[str, Any], on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> TrainResult:
    """Train with upstream ``train.main``; ``options`` are ``train.run`` keyword arguments."""
    compat.install()
    from yolov5 import train
    from yolov5.utils.callbacks import Callbacks

    compat.provide_fonts()
    opt = upstream_options(options)
    result = TrainResult(save_dir=Path(opt.project) / opt.name)
    callbacks = Callbacks()

    def fit_epoch_end(log_vals: list[Any], epoch: int, best_fitness: Any, fi: Any) -> None:
        values = {k: float(v) for k, v in zip(EPOCH_KEYS, log_vals)}
        if result.epochs and result.epochs[-1]["epoch"] == epoch:
            return  # upstream repeats the hook for the final validation of best.pt
        bad = [k for k in EPOCH_KEYS[:3] if not math.isfinite(values[k])]
        if bad:
            raise NonFiniteLoss(f"{bad[0]} became {values[bad[0]]} at epoch {epoch}; lower the learning rate or check the module.")
        result.epochs.append({"epoch": epoch, **values})
        if on_epoch is not None:
            on_epoch(epoch, values)

    def train_end(last: Path, best: Path, epoch: int, results: tuple) -> None:
        result.final = {k: float(v) for k, v in zip(FINAL_KEYS, results)}
        result.best = Path(best) if Path(best).exists() else None

    callbacks.register_action("on_fit_epoch_end", callback=fit_epoch_end)
    callbacks.register_action("on_train_end", callback=train_end)
    start = time.perf_counter()
    with compat.trusted_checkpoints(opt.project):
        train.main(opt, callbacks)
    result.seconds = time.perf_counter() - start
    result.save_dir = Path(opt.save_dir)
    return result
