"""Building a model from a yaml with upstream's ``Model``, our modules registered, quietly."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def quiet_upstream() -> Iterator[None]:
    """Upstream logs a layer table for every model it builds; keep warnings only, and skip the
    summary it logs last (``Model.info``: a thop profile at 640 px, most of the build time)."""
    from yolov5.models.yolo import Model

    logger = logging.getLogger("yolov5")
    level, info = logger.level, Model.info
    logger.setLevel(logging.WARNING)
    Model.info = lambda self, *args, **kwargs: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        logger.setLevel(level)
        Model.info = info  # type: ignore[method-assign]


def build_model(yaml_path: str | Path, nc: int | None = None) -> Any:
    from ablation.engines.yolov5.engine import ENGINE

    ENGINE.setup()  # our modules, registered with upstream
    from yolov5.models.yolo import Model

    with quiet_upstream():
        return Model(str(yaml_path), ch=3, nc=nc)


def inference_model(yaml_path: str | Path, nc: int | None = None) -> Any:
    """``build_model``'s model with Conv+BN fused (under ``no_grad``: fused under autograd, the
    weights are non-leaf tensors the exporters refuse) and in eval mode."""
    import torch

    model = build_model(yaml_path, nc)
    with quiet_upstream(), torch.no_grad():
        model.fuse()
    return model.eval()
