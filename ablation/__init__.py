"""ablation: which attention module, placed where, actually helps YOLOv5 — and at what cost.

Importing the package does nothing else (it only starts noting the variables later imports set:
``ablation.train.environ``): no torch, no upstream, no patches. ``setup()`` (called
by every entry point that builds or trains a model) makes the pinned upstream package run on
today's libraries and registers every attention module (and ``C3Attn``) with it, so that
``yolov5.models.yolo.Model("<generated>.yaml")`` builds the yamls this package writes.
Modules of your own: put ``@ATTENTION.register(...)`` classes in an importable Python module and
name it in ``ABLATION_PLUGINS`` (comma-separated module names): ``ablation.attention`` imports them.
"""

from __future__ import annotations

from ablation.train import environ

environ.record()  # before anything of ours imports a library that changes the environment

from ablation.engines import engine  # noqa: E402


def setup(engine_name: str | None = None) -> list[str]:
    """Idempotent: the engine's compatibility shims, then every registered attention module
    (plugins included) bound into its model parser. Returns the registered class names."""
    return engine(engine_name).setup()


__all__ = ["setup"]
