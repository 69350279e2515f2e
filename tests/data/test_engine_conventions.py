"""The yolov5 engine's dataset conventions, kept as data so that listing a dataset imports
nothing of upstream, are upstream's own."""

from __future__ import annotations

import os

from ablation.engines import engine
from ablation.engines.yolov5.dataset import dataloaders


def test_image_formats_are_upstreams() -> None:
    assert engine("yolov5").image_formats() == frozenset(dataloaders().IMG_FORMATS)


def test_label_paths_are_upstreams() -> None:
    s = os.sep
    images = [
        f"{s}d{s}images{s}train{s}a.jpg",
        f"{s}d{s}images{s}x{s}images{s}b.v2.png",  # the last /images/ is replaced
        f"{s}d{s}imgs{s}c.tif",  # no /images/: beside the image
        f"rel{s}images{s}d",  # no suffix
    ]
    ours = engine("yolov5").label_paths(images)
    assert ours == list(dataloaders().img2label_paths(images))
    assert ours[1] == f"{s}d{s}images{s}x{s}labels{s}b.v2.txt"
