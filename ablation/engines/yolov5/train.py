"""Adapter to the upstream YOLOv5 training engine (``yolov5.train``), unmodified.

``train_upstream`` does what ``yolov5.train.run(**options)`` does — ``parse_opt(True)``, set
the options, ``main(opt)`` — and only adds callbacks that observe (per-epoch metrics, a NaN
guard, the resume checkpoint). Nothing here changes what upstream computes.

Resume: ``options["resume"]`` names the ``weights/resume.pt`` of an earlier attempt and training
continues as upstream's ``train.py --resume`` does, in that attempt's folder (its ``opt.yaml``).
Upstream writes ``last.pt`` in place, so a process killed while it writes leaves it torn: after
each epoch's save we copy it to ``resume.pt`` (temporary file, then an atomic rename), and only
then report the epoch (``on_epoch``). An epoch that was reported can always be resumed after;
the last epoch is reported with the result, not before (a kill during the final validation
resumes from the epoch before it, so no epoch is ever reported twice).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ablation.engines.shared import TrainResult, checkpoint_epoch, forget_after, keep_checkpoint
from ablation.engines.yolov5 import compat
from ablation.engines.yolov5.engine import ENGINE
from ablation.track.schema import MAP50, MAP50_95, PRECISION, RECALL

# Order of the values upstream passes to ``on_fit_epoch_end`` (train.py's ``log_vals``).
EPOCH_KEYS = (
    "train/box_loss",
    "train/obj_loss",
    "train/cls_loss",
    PRECISION,
    RECALL,
    MAP50,
    MAP50_95,  # upstream's metrics/mAP_0.5:0.95 (no ':' in an MLflow key)
    "val/box_loss",
    "val/obj_loss",
    "val/cls_loss",
    "lr/pg0",
    "lr/pg1",
    "lr/pg2",
)
FINAL_KEYS = (PRECISION, RECALL, MAP50, MAP50_95, "val/box_loss", "val/obj_loss", "val/cls_loss")


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN or infinite loss."""


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


def preload() -> None:
    """Import what ``train_upstream`` needs (done by a training child while it waits for its job)."""
    ENGINE.setup()
    import torch  # noqa: F401
    from yolov5 import train  # noqa: F401
    from yolov5.utils.callbacks import Callbacks  # noqa: F401


def train_upstream(
    options: dict[str, Any],
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    on_note: Callable[[dict[str, str]], None] | None = None,
    observers: dict[str, Callable[..., None]] | None = None,
) -> TrainResult:
    """Train with upstream ``train.main``; ``options`` are ``train.run`` keyword arguments plus
    ours: ``amp`` (auto/true/false) and ``deterministic`` (strict/warn), see ``conf/train``.
    ``observers``: more upstream callbacks (hook name → action) that only observe."""
    ENGINE.setup()
    import torch
    from yolov5 import train
    from yolov5.utils.callbacks import Callbacks

    compat.provide_fonts()
    options = dict(options)
    amp_policy, deterministic = str(options.pop("amp", "auto")).lower(), str(options.pop("deterministic", "warn"))
    resume = options.pop("resume", None)
    opt = upstream_options(options)
    save_dir = Path(opt.project) / opt.name
    if resume:  # upstream reads the earlier attempt's opt.yaml and trains on in its folder
        opt.resume, save_dir = str(resume), Path(resume).parents[1]
        forget_after(save_dir / "results.csv", checkpoint_epoch(Path(resume)))
    result = TrainResult(save_dir=save_dir)
    pending: list[tuple[int, dict[str, float]]] = []  # epochs trained, reported once checkpointed
    callbacks = Callbacks()

    def note(values: dict[str, str]) -> None:
        if on_note is not None:
            on_note(values)

    def record_amp(amp: bool, reason: str) -> None:
        note({"amp": str(amp).lower(), "amp_reason": reason})

    clock = {"last": 0.0}  # end of the previous batch; batches are timed from epoch start

    def epoch_start() -> None:
        clock["last"] = time.perf_counter()

    def batch_end(model: Any, ni: int, imgs: Any, *rest: Any) -> None:
        now = time.perf_counter()
        result.images += int(imgs.shape[0])
        result.batch_seconds += now - clock["last"]
        clock["last"] = now

    def fit_epoch_end(log_vals: list[Any], epoch: int, best_fitness: Any, fi: Any) -> None:
        values = {k: float(v) for k, v in zip(EPOCH_KEYS, log_vals)}
        if result.epochs and result.epochs[-1]["epoch"] == epoch:
            return  # upstream repeats the hook for the final validation of best.pt
        bad = [k for k in EPOCH_KEYS[:3] if not math.isfinite(values[k])]
        if bad:
            raise NonFiniteLoss(
                f"{bad[0]} became {values[bad[0]]} at epoch {epoch}; lower the learning rate or check the module."
            )
        result.epochs.append({"epoch": epoch, **values})
        pending.append((epoch, values))
        if opt.nosave:  # no checkpoint until the end: nothing to resume from, report now
            report_pending()

    def report_pending() -> None:
        while pending:
            epoch, values = pending.pop(0)
            if on_epoch is not None:
                on_epoch(epoch, values)

    def model_save(last: Path, epoch: int, final_epoch: bool, *rest: Any) -> None:
        if final_epoch:  # reported with the result; resuming after it would repeat it
            return
        keep_checkpoint(Path(last))
        report_pending()

    def train_end(last: Path, best: Path, epoch: int, results: tuple) -> None:
        result.final = {k: float(v) for k, v in zip(FINAL_KEYS, results)}
        result.best = Path(best) if Path(best).exists() else None

    callbacks.register_action("on_fit_epoch_end", callback=fit_epoch_end)
    callbacks.register_action("on_train_end", callback=train_end)
    callbacks.register_action("on_train_epoch_start", callback=epoch_start)
    callbacks.register_action("on_train_batch_end", callback=batch_end)
    callbacks.register_action("on_model_save", callback=model_save)
    for hook, action in (observers or {}).items():
        callbacks.register_action(hook, callback=action)
    note({"deterministic": deterministic})
    start = time.perf_counter()
    with (
        compat.trusted_checkpoints(opt.project),
        compat.trusted_checkpoints(save_dir),
        compat.deterministic_mode(deterministic),
        compat.offline_amp_check(amp_policy, record_amp),
    ):
        train.main(opt, callbacks)
    result.seconds = time.perf_counter() - start
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        result.gpu_mem_peak_gb = torch.cuda.max_memory_allocated() / 2**30
    return result
