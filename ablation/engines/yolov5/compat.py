"""Make the pinned yolov5 7.0.14 import and run quietly on today's libraries.

Call ``install()`` before importing ``yolov5`` (it imports upstream's ``utils.general`` itself). It
changes nothing about training results.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_UPSTREAM_NOISE = (
    # pkg_resources is imported by yolov5.utils.general; setuptools<81 is pinned, the warning is noise.
    (UserWarning, r"pkg_resources is deprecated"),
    # torch.cuda.amp.* spellings used throughout upstream.
    (FutureWarning, r"`torch\.cuda\.amp\.\w+\(args\.\.\.\)` is deprecated"),
    (FutureWarning, r"You are using `torch\.load` with `weights_only=False`"),
)

_installed = False

# Importing upstream (yolov5.utils.general) sets these for the whole process: OMP_NUM_THREADS to
# min(8, cpu_count - 1). A plain run has loaded torch by then and keeps torch's own thread count;
# a child process that inherited the variable would train with fewer threads (on 2 cores: 1, and
# 1.6x slower, with different float sums) than plain upstream does.
UPSTREAM_IMPORT_ENV = ("OMP_NUM_THREADS", "NUMEXPR_MAX_THREADS", "YOLO_OFFLINE")
_launch_env: dict[str, str] | None = None  # os.environ before upstream's import


def install() -> None:
    """Idempotent: filter upstream deprecation noise and shim removed numpy names."""
    global _installed, _launch_env
    if _installed:
        return
    if "yolov5.utils.general" not in sys.modules:
        _launch_env = dict(os.environ)
    for category, message in _UPSTREAM_NOISE:
        warnings.filterwarnings("ignore", message=message, category=category)
    # The ultralytics package (a yolov5 dependency) writes a settings file and prints a banner.
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import numpy as np

    if not hasattr(np, "trapz"):  # removed in numpy 2.4; upstream's ap_per_class calls it
        np.trapz = np.trapezoid  # type: ignore[attr-defined]
    from PIL import ImageFont

    if not hasattr(ImageFont.FreeTypeFont, "getsize"):  # removed in Pillow 10; upstream's plots call it
        ImageFont.FreeTypeFont.getsize = _text_size  # type: ignore[attr-defined]
    with _light_stack():
        import yolov5.utils.general  # noqa: F401
    _installed = True


@contextlib.contextmanager
def _light_stack() -> Iterator[None]:
    """``inspect.stack`` as a walk over the frames, inside the block.

    ``yolov5.utils.general`` calls ``inspect.stack()`` twice at import to compare two frames' file
    names. The real one resolves every frame's source file, module and context lines; from a
    deep stack in a process that has loaded many modules (the command after Hydra, MLflow and
    torch) that took 1.2-2 s of the import's 5-7. The frames' ``co_filename`` are the same names.
    """
    import inspect

    def stack(context: int = 1) -> list[inspect.FrameInfo]:
        frames, frame = [], sys._getframe(1)
        while frame is not None:
            code = frame.f_code
            frames.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
            frame = frame.f_back
        return frames

    real = inspect.stack
    inspect.stack = stack
    try:
        yield
    finally:
        inspect.stack = real


def launch_environ(also: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment with ``UPSTREAM_IMPORT_ENV`` (and ``also``) as they were before
    upstream's import changed them (see above)."""
    from ablation.engines.shared import restored_environ

    return restored_environ(_launch_env, (*UPSTREAM_IMPORT_ENV, *also))


def _text_size(font: Any, text: str) -> tuple[int, int]:
    """Pillow < 10's ``FreeTypeFont.getsize``: the text's extent from the drawing origin."""
    _, _, right, bottom = font.getbbox(text)
    return right, bottom


def provide_fonts() -> list[str]:
    """Place a local TTF where upstream's ``check_font`` looks, so it never downloads one.

    Upstream wants Arial.ttf (plots' labels) in its config dir and fetches it from the internet
    otherwise; matplotlib (an upstream dependency) ships DejaVu Sans, which we copy there under
    the names upstream asks for. Returns the files written.
    """
    import shutil

    import matplotlib
    from yolov5.utils.general import CONFIG_DIR

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    written = []
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = Path(CONFIG_DIR) / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            written.append(str(target))
    return written


@contextlib.contextmanager
def trusted_checkpoints(directory: str | Path) -> Iterator[None]:
    """Within the block, ``torch.load`` of files under ``directory`` uses ``weights_only=False``.

    Upstream pickles whole models (and numpy scalars) into last.pt/best.pt and reloads them after
    the final epoch; torch >= 2.6 refuses that by default. We allow it only for checkpoints this
    run wrote itself, never process-wide (no TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD).
    """
    import torch

    root = Path(directory).resolve()
    original = torch.load

    def load(f: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(f, (str, os.PathLike)) and Path(f).resolve().is_relative_to(root):
            kwargs.setdefault("weights_only", False)
        return original(f, *args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = original


DETERMINISTIC_MODES = ("strict", "warn")


@contextlib.contextmanager
def deterministic_mode(mode: str) -> Iterator[None]:
    """How upstream's ``init_seeds(deterministic=True)`` takes effect inside the block.

    Upstream calls ``torch.use_deterministic_algorithms(True)``. On CUDA some backward kernels
    (adaptive pooling, bilinear interpolation, index_add, ...) have no deterministic version and
    then raise at the first step. ``warn`` keeps every kernel that has a deterministic version
    deterministic and lets the others run with a warning (``warn_only=True``); on CPU it computes
    exactly what ``strict`` does. ``strict`` is upstream's behaviour.
    """
    import torch

    if mode not in DETERMINISTIC_MODES:
        raise ValueError(f"train.deterministic={mode!r}; choose one of {', '.join(DETERMINISTIC_MODES)}.")
    original = torch.use_deterministic_algorithms

    def use(enabled: bool, *, warn_only: bool = False) -> None:
        original(enabled, warn_only=warn_only or (enabled and mode == "warn"))

    torch.use_deterministic_algorithms = use
    try:
        yield
    finally:
        torch.use_deterministic_algorithms = original


@contextlib.contextmanager
def offline_amp_check(policy: str, record: Any) -> Iterator[None]:
    """Replace upstream's ``check_amp`` inside the block; ``record(amp, reason)`` gets the decision.

    Upstream compares its fresh model's detections in FP32 and under autocast and, if they differ,
    downloads ``yolov5n.pt`` to try again: offline that hangs or silently disables AMP. Ours never
    touches the network: ``auto`` compares the model's raw outputs (boxes normalised by the image
    size, confidences) in FP32 and under autocast on a fixed input within upstream's 10 %
    tolerance; ``true``/``false`` force the decision. AMP only ever applies on CUDA.
    """
    from yolov5 import train

    def check(model: Any) -> bool:
        amp, reason = _amp_decision(model, policy)
        record(amp, reason)
        return amp

    original = train.check_amp
    train.check_amp = check
    try:
        yield
    finally:
        train.check_amp = original


def _amp_decision(model: Any, policy: str) -> tuple[bool, str]:
    device = next(model.parameters()).device
    if device.type != "cuda":
        return False, f"AMP is only used on CUDA (device {device.type})"
    if policy in ("true", "false"):
        return policy == "true", f"forced by train.amp={policy}"
    ok, worst = amp_self_check(model)
    return ok, f"offline self-check: max |FP32 - AMP| = {worst:.4f} (tolerance 0.1)"


def amp_self_check(model: Any, size: int = 256, tolerance: float = 0.1) -> tuple[bool, float]:
    """Raw detections in FP32 vs under autocast on the model's device, on a fixed random input.

    Boxes are divided by the image size so that every column is on a 0-1 scale, as upstream's
    normalised comparison; returns (within tolerance and finite, largest difference).
    """
    import copy

    import torch

    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)  # never draws from the training's global RNG
    x = torch.rand(1, 3, size, size, generator=generator).to(device)
    m = copy.deepcopy(model).eval()
    with torch.no_grad():
        full = m(x)[0].float()
        with torch.autocast(device.type):
            mixed = m(x)[0].float()
    if not torch.isfinite(mixed).all():
        return False, float("inf")
    full[..., :4] /= size
    mixed[..., :4] /= size
    worst = (full - mixed).abs().max().item()
    return worst <= tolerance, worst
