"""Make the pinned yolov5 7.0.14 import and run quietly on today's libraries.

Call ``install()`` before importing ``yolov5``. It changes nothing about training results.
"""

from __future__ import annotations

import contextlib
import os
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


def install() -> None:
    """Idempotent: filter upstream deprecation noise and shim removed numpy names."""
    global _installed
    if _installed:
        return
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
    _installed = True


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
