"""Make the pinned yolov5 7.0.14 import and run quietly on today's libraries.

Call ``install()`` before importing ``yolov5``. It changes nothing about training results.
"""

from __future__ import annotations

import os
import warnings

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
    _installed = True
