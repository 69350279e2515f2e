"""Training through ultralytics' own ``DetectionTrainer``, unmodified.

``train_ultralytics`` builds the trainer from our options (``options.trainer_args``) and only
adds callbacks that observe: per-epoch metrics to ``on_epoch`` (``on_fit_epoch_end``:
``trainer.tloss``, ``trainer.metrics``, ``trainer.lr``), a NaN guard, the resume checkpoint. The one
override, ``get_model``, builds the model from the yaml's dict with its own ``scale:`` key
(``models.model_dict``), where the package would take the scale from the file name.

Resume: ``options["resume"]`` names the ``weights/resume.pt`` of an earlier attempt; the package
resumes from it with its own ``resume`` (the arguments stored in the checkpoint, in that
attempt's folder). The package writes ``last.pt`` in place, so after each epoch's save
(``on_model_save``, which runs before ``on_fit_epoch_end``) we copy it to ``resume.pt`` atomically
and only then report the epoch. The last epoch is reported with the result, not before, as in
the yolov5 engine.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ablation.engines.shared import TrainResult, checkpoint_epoch, forget_after, keep_checkpoint
from ablation.engines.ultralytics.engine import ENGINE
from ablation.engines.ultralytics.options import trainer_args
from ablation.track.schema import MAP50, MAP50_95, PRECISION, RECALL

# the package's metric names → ours (no ':' or '(' in MLflow keys)
RENAMED = {
    "metrics/precision(B)": PRECISION,
    "metrics/recall(B)": RECALL,
    "metrics/mAP50(B)": MAP50,
    "metrics/mAP50-95(B)": MAP50_95,
}
# YOLOv8/YOLO11 detection: what on_epoch receives (YOLO26 names its losses its own way)
EPOCH_KEYS = (
    "train/box_loss",
    "train/cls_loss",
    "train/dfl_loss",
    PRECISION,
    RECALL,
    MAP50,
    MAP50_95,
    "val/box_loss",
    "val/cls_loss",
    "val/dfl_loss",
    "lr/pg0",
    "lr/pg1",
    "lr/pg2",
)
# the trainer's events, each action called with the trainer (observers of these names are added as
# they are; ``on_val_start`` and ``on_val_image_end`` get yolov5's arguments: final_validation_observer)
TRAINER_EVENTS = (
    "on_pretrain_routine_start",
    "on_pretrain_routine_end",
    "on_train_start",
    "on_train_epoch_start",
    "on_train_batch_start",
    "on_train_batch_end",
    "on_train_epoch_end",
    "on_fit_epoch_end",
    "on_model_save",
    "on_train_end",
)
FINAL_KEYS = (PRECISION, RECALL, MAP50, MAP50_95)


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class OptionError(ValueError):
    """An option the package cannot express."""


def trainer_class() -> type:
    """``DetectionTrainer`` building from the yaml's dict (its own ``scale:``); our modules are
    registered in every process that builds one (a DDP worker rebuilds the trainer by class)."""
    ENGINE.setup()
    from ultralytics.models.yolo.detect import DetectionTrainer

    return _trainer(DetectionTrainer)


_TRAINERS: dict[type, type] = {}


def _trainer(base: type) -> type:
    if base not in _TRAINERS:

        def get_model(self: Any, cfg: Any = None, weights: Any = None, verbose: bool = True) -> Any:
            from ablation.engines.ultralytics.models import model_dict

            if isinstance(cfg, (str, Path)) and str(cfg).endswith((".yaml", ".yml")):
                cfg = model_dict(cfg)
            return base.get_model(self, cfg=cfg, weights=weights, verbose=verbose)

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            ENGINE.setup()
            base.__init__(self, *args, **kwargs)

        _TRAINERS[base] = type("AblationDetectionTrainer", (base,), {"get_model": get_model, "__init__": init})
        _TRAINERS[base].__module__ = __name__
    return _TRAINERS[base]


def __getattr__(name: str) -> Any:  # the class by module path, for the package's DDP file (cloudpickle)
    if name == "AblationDetectionTrainer":
        return trainer_class()
    raise AttributeError(name)


def preload() -> None:
    """Import what ``train_ultralytics`` needs (done by a training child while it waits for its job)."""
    trainer_class()
    import torch  # noqa: F401


def epoch_values(trainer: Any) -> dict[str, float]:
    """The epoch's metrics as the package writes them to results.csv, under our names."""
    values = {**trainer.label_loss_items(trainer.tloss, prefix="train"), **(trainer.metrics or {}), **trainer.lr}
    return {RENAMED.get(k, k): float(v) for k, v in values.items()}


def train_ultralytics(
    options: dict[str, Any],
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    on_note: Callable[[dict[str, str]], None] | None = None,
    observers: dict[str, Callable[..., None]] | None = None,
) -> TrainResult:
    """Train with the package's ``DetectionTrainer``; ``options`` are the job's options (see
    ``options``). ``observers``: more of the package's callbacks (event → action(trainer))."""
    import torch

    args, problems = trainer_args(options)
    if problems:
        raise OptionError("; ".join(problems) + ".")
    amp_policy, deterministic = str(options.get("amp", "auto")).lower(), str(options.get("deterministic", "warn"))
    resume = options.get("resume")
    save_dir = Path(args["project"]) / args["name"]
    if resume:  # the package reads the checkpoint's arguments and trains on in its folder
        args = {"resume": str(resume), "data": args.get("data"), "device": args.get("device", "")}
        save_dir = Path(resume).parents[1]
        forget_after(save_dir / "results.csv", checkpoint_epoch(Path(resume)) + 1)  # its epochs count from 1
    result = TrainResult(save_dir=save_dir)
    pending: list[tuple[int, dict[str, float]]] = []  # epochs trained, reported once checkpointed
    clock = {"last": 0.0}

    def note(values: dict[str, str]) -> None:
        if on_note is not None:
            on_note(values)

    def report_pending() -> None:
        while pending:
            epoch, values = pending.pop(0)
            if on_epoch is not None:
                on_epoch(epoch, values)

    def epoch_start(trainer: Any) -> None:
        clock["last"] = time.perf_counter()

    def batch_end(trainer: Any) -> None:
        now = time.perf_counter()
        result.batch_seconds += now - clock["last"]
        clock["last"] = now

    def epoch_end(trainer: Any) -> None:  # every image once per epoch (the loader drops none)
        result.images += len(trainer.train_loader.dataset)

    def model_save(trainer: Any) -> None:
        if not trainer.stop:  # the last epoch is reported with the result
            keep_checkpoint(Path(trainer.last))

    def fit_epoch_end(trainer: Any) -> None:
        epoch = int(trainer.epoch)
        if clock.get("stopped") or (result.epochs and result.epochs[-1]["epoch"] >= epoch):
            return  # the package repeats the hook (at epoch + 1) for the final validation of best.pt
        clock["stopped"] = bool(trainer.stop)
        values = epoch_values(trainer)
        bad = [k for k, v in values.items() if k.startswith("train/") and not math.isfinite(v)]
        if bad:
            raise NonFiniteLoss(
                f"{bad[0]} became {values[bad[0]]} at epoch {epoch}; lower the learning rate or check the module."
            )
        result.epochs.append({"epoch": epoch, **values})
        pending.append((epoch, values))
        if not trainer.args.save or not trainer.stop:  # checkpoint kept (or none to resume from): report
            report_pending()

    def train_end(trainer: Any) -> None:
        metrics = {RENAMED.get(k, k): float(v) for k, v in (trainer.metrics or {}).items()}
        result.final = {k: metrics[k] for k in FINAL_KEYS if k in metrics}
        result.best = Path(trainer.best) if Path(trainer.best).exists() else None

    actions = {
        "on_train_epoch_start": [epoch_start],
        "on_train_batch_end": [batch_end],
        "on_train_epoch_end": [epoch_end],
        "on_model_save": [model_save],
        "on_fit_epoch_end": [fit_epoch_end],
        "on_train_end": [train_end],
    }
    for event, action in (observers or {}).items():
        if event in TRAINER_EVENTS:
            actions.setdefault(event, []).append(action)
    if "on_val_image_end" in (observers or {}):  # the validator's events, in yolov5's vocabulary
        actions.setdefault("on_val_start", []).append(final_validation_observer(observers or {}))
    note({"deterministic": deterministic})
    start = time.perf_counter()
    with (
        amp_check(amp_policy, lambda amp, reason: note({"amp": str(amp).lower(), "amp_reason": reason})),
        strict_determinism(deterministic == "strict"),  # the trainer seeds when it is made
    ):
        trainer = trainer_class()(overrides=args)
        for event, listed in actions.items():
            for action in listed:
                trainer.add_callback(event, action)
        trainer.train()
    result.seconds = time.perf_counter() - start
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        result.gpu_mem_peak_gb = torch.cuda.max_memory_allocated() / 2**30
    return result


def final_validation_observer(observers: dict[str, Callable[..., None]]) -> Callable[[Any], None]:
    """An ``on_val_start`` callback (the trainer's validator shares its callbacks) that reports a
    validation outside training, the package's final validation of best.pt (``final_eval``), to
    ``observers`` as yolov5 reports its own: ``on_val_start()``, then ``on_val_image_end(pred,
    predn, path, names, image)`` per image with ``predn`` its rows x1 y1 x2 y2 score class in the
    original image's pixels, as the validator scales them for its own COCO json (``scale_preds``).
    The validator's metrics are computed first and are unchanged."""
    started, image_end = observers.get("on_val_start"), observers["on_val_image_end"]

    def on_val_start(validator: Any) -> None:
        if validator.training:  # an epoch's validation: not reported
            return
        if started is not None:
            started()
        package_update = type(validator).update_metrics.__get__(validator)

        def update_metrics(preds: list[dict[str, Any]], batch: dict[str, Any]) -> None:
            import torch

            package_update(preds, batch)
            for si, pred in enumerate(preds):
                pbatch = validator._prepare_batch(si, batch)
                scaled = validator.scale_preds(validator._prepare_pred(pred), pbatch)
                rows = torch.cat([scaled["bboxes"], scaled["conf"][:, None], scaled["cls"][:, None]], dim=1)
                image_end(pred, rows, pbatch["im_file"], validator.names, None)

        validator.update_metrics = update_metrics

    return on_val_start


@contextlib.contextmanager
def amp_check(policy: str, record: Callable[[bool, str], None]) -> Iterator[None]:
    """Replace the package's ``check_amp`` (which downloads ``yolo26n.pt`` on CUDA) inside the block:
    ``auto`` compares the model's raw outputs in FP32 and under autocast on a fixed input, offline;
    ``true`` forces AMP on CUDA (``false`` never reaches the check: ``amp=False``)."""
    from ultralytics.engine import trainer as module

    def check(model: Any) -> bool:
        device = next(model.parameters()).device
        if device.type != "cuda":
            amp, reason = False, f"AMP is only used on CUDA (device {device.type})"
        elif policy == "true":
            amp, reason = True, "forced by train.amp=true"
        else:
            worst = autocast_difference(model)
            amp, reason = worst <= 0.1, f"offline self-check: max |FP32 - AMP| = {worst:.4f} (tolerance 0.1)"
        record(amp, reason)
        return amp

    original = module.check_amp
    module.check_amp = check
    if policy == "false":
        record(False, "forced by train.amp=false")
    try:
        yield
    finally:
        module.check_amp = original


def autocast_difference(model: Any, size: int = 256) -> float:
    """Largest difference between FP32 and autocast detections (boxes / ``size``, scores), on a
    fixed random input that draws nothing from the training's global RNG; inf if not finite."""
    import copy

    import torch

    device = next(model.parameters()).device
    image = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    probe = copy.deepcopy(model).eval()
    with torch.no_grad():
        outputs = [probe(image)[0].float()]
        with torch.autocast(device.type):
            outputs.append(probe(image)[0].float())
    scale = torch.ones_like(outputs[0][:, :, :1]).expand_as(outputs[0]).clone()
    scale[:, :4] = size  # (batch, 4 + classes, anchors): the first four rows are pixels
    full, mixed = (o / scale for o in outputs)
    return float((full - mixed).abs().max()) if torch.isfinite(mixed).all() else math.inf


@contextlib.contextmanager
def strict_determinism(enabled: bool) -> Iterator[None]:
    """The package seeds with ``use_deterministic_algorithms(True, warn_only=True)``; ``strict``
    makes a kernel without a deterministic version raise instead."""
    import torch

    original = torch.use_deterministic_algorithms

    def use(mode: bool, *, warn_only: bool = False) -> None:
        original(mode, warn_only=warn_only and not (enabled and mode))

    if enabled:
        torch.use_deterministic_algorithms = use
    try:
        yield
    finally:
        torch.use_deterministic_algorithms = original
