"""Upstream's dataset conventions: image suffixes, the label path of an image, its own loader."""

from __future__ import annotations

import os
from typing import Any

# Upstream's IMG_FORMATS and img2label_paths (utils/dataloaders.py), as facts: planning lists a
# dataset without importing upstream (torch, OpenCV: seconds). A test compares them with upstream's.
IMAGE_FORMATS = frozenset({"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm"})


def label_paths(images: list[str]) -> list[str]:
    """Each image's label file: the last ``/images/`` of its path becomes ``/labels/``, its suffix ``.txt``."""
    images_dir, labels_dir = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return [labels_dir.join(path.rsplit(images_dir, 1)).rsplit(".", 1)[0] + ".txt" for path in images]


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
