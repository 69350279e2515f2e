"""ablation: which attention module, placed where, actually helps YOLOv5 — and at what cost.

Importing the package registers every attention module (and ``C3Attn``) with upstream YOLOv5,
so ``yolov5.models.yolo.Model("<generated>.yaml")`` builds the yamls this package writes.
Modules of your own: put ``@ATTENTION.register(...)`` classes in an importable Python module and
name it in ``ABLATION_PLUGINS`` (comma-separated module names); they are imported here first.
"""

from __future__ import annotations

import importlib
import os

from vendor.yolov5 import compat as _compat

_compat.install()

from .attention import ATTENTION  # noqa: E402
from .attention.c3_attn import C3Attn  # noqa: E402
from vendor.yolov5.registration import register as _register  # noqa: E402

PLUGINS = [importlib.import_module(n.strip()) for n in os.environ.get("ABLATION_PLUGINS", "").split(",") if n.strip()]
REGISTERED = _register({**{e.cls.__name__: e.cls for e in ATTENTION}, "C3Attn": C3Attn})

__all__ = ["ATTENTION", "C3Attn", "PLUGINS", "REGISTERED"]
