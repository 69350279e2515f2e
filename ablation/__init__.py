"""ablation: which attention module, placed where, actually helps YOLOv5 — and at what cost.

Importing the package does nothing else: no torch, no upstream, no patches. ``setup()`` (called
by every entry point that builds or trains a model) makes the pinned upstream package run on
today's libraries and registers every attention module (and ``C3Attn``) with it, so that
``yolov5.models.yolo.Model("<generated>.yaml")`` builds the yamls this package writes.
Modules of your own: put ``@ATTENTION.register(...)`` classes in an importable Python module and
name it in ``ABLATION_PLUGINS`` (comma-separated module names): ``ablation.attention`` imports them.
"""

from __future__ import annotations

_registered: list[str] = []


def setup() -> list[str]:
    """Idempotent: upstream compatibility shims, then every registered attention module (plugins
    included) bound into upstream's ``parse_model`` namespace. Returns the registered class names."""
    if _registered:
        return _registered
    from ablation.engines.yolov5 import compat

    compat.install()  # before the first upstream import: it records the launch environment
    from ablation.attention import ATTENTION
    from ablation.engines.yolov5.c3_attn import C3Attn
    from ablation.engines.yolov5.registration import register

    _registered.extend(register({**{e.cls.__name__: e.cls for e in ATTENTION}, "C3Attn": C3Attn}))
    return _registered


__all__ = ["setup"]
