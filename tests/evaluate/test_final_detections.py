"""The COCO detections are those of upstream's final validation of best.pt, not of an epoch's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from yolov5.utils.callbacks import Callbacks

from ablation.evaluate.coco import CocoError
from ablation.evaluate.final import Detections


def rows(score: float) -> torch.Tensor:
    """One detection (x1 y1 x2 y2 score class) plus a 7th column upstream's predn does not have."""
    return torch.tensor([[1.0, 2.0, 11.0, 22.0, score, 1.0, 99.0]])


def validate(
    callbacks: Callbacks, score: float, images: tuple[str, ...] = ("/d/images/val/a.png", "/d/images/val/b.png")
) -> None:
    """What val.run reports through the callbacks, for images with detections."""
    callbacks.run("on_val_start")
    for path in images:
        callbacks.run("on_val_image_end", rows(score), rows(score), Path(path), {1: "x"}, None)


@pytest.mark.parametrize("coco", [False, True])
def test_only_the_validation_after_the_last_epoch_is_kept(coco: bool) -> None:
    detections = Detections()
    callbacks = detections.register(Callbacks())
    for epoch in range(2):  # train.py: on_train_epoch_end, validation of the EMA model, on_fit_epoch_end
        callbacks.run("on_train_epoch_end", epoch=epoch)
        validate(callbacks, 0.1 + epoch / 10)
        callbacks.run("on_fit_epoch_end", [], epoch, 0.0, 0.0)
        assert detections.images is None  # an epoch's validation is never kept
    validate(callbacks, 0.9, ("/d/images/val/b.png",))  # the final validation of best.pt
    if coco:  # on COCO val2017 upstream repeats on_fit_epoch_end after it
        callbacks.run("on_fit_epoch_end", [], 1, 0.0, 0.0)
    ids = {Path("/d/images/val/a.png"): 1, Path("/d/images/val/b.png"): 2}
    assert detections.results(ids, "data.yaml") == [
        {"image_id": 2, "category_id": 1, "bbox": [1.0, 2.0, 10.0, 20.0], "score": 0.9},
    ]


def test_a_standalone_validation_is_kept_and_an_unknown_image_is_an_error() -> None:
    detections = Detections()
    callbacks = detections.register(Callbacks())
    validate(callbacks, 0.5, ("/d/images/val/a.png", "/d/images/val/../val/c.png"))
    with pytest.raises(
        CocoError, match=r"^upstream validated /d/images/val/c\.png, which is not in the COCO instances of data\.yaml$"
    ):
        detections.results({Path("/d/images/val/a.png"): 1}, "data.yaml")


def test_no_validation_outside_an_epoch_is_an_error() -> None:
    detections = Detections()
    callbacks = detections.register(Callbacks())
    callbacks.run("on_train_epoch_end", epoch=0)
    validate(callbacks, 0.5)
    with pytest.raises(CocoError, match=r"^no validation outside a training epoch was seen$"):
        detections.results({}, "data.yaml")
