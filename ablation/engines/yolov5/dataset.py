"""Upstream's dataset conventions: image suffixes, the label path of an image, its own loader."""

from __future__ import annotations

from typing import Any


def dataloaders() -> Any:
    from ablation.engines.yolov5 import compat

    compat.install()  # before upstream's first import
    from yolov5.utils import dataloaders

    return dataloaders


def read_split(paths: list[str], single_cls: bool) -> Any:
    """``LoadImagesAndLabels`` over ``paths`` (``rect=False``: sorted order), as validation reads it."""
    return dataloaders().LoadImagesAndLabels(
        paths, img_size=640, batch_size=1, augment=False, rect=False, single_cls=single_cls, workers=0
    )
