"""Detections of a validation pass, taken from upstream's own callbacks (no torch import here).

``Detections`` registers on upstream's ``Callbacks``. In training it keeps the detections of
upstream's final validation of best.pt (``train.py`` runs it after the last epoch with
``conf_thres=0.001``, NMS IoU 0.60 or 0.65 on COCO, 300 detections, batch 2 x the training
batch, half precision on CUDA): the COCO metrics are then computed on exactly the detections
behind upstream's final ``mAP50``/``mAP50-95``, with no second pass over the val set. Each
epoch's validation runs between ``on_train_epoch_end`` and ``on_fit_epoch_end`` and is not
kept; a validation outside an epoch (the final one, or a standalone ``val.run``) is (upstream
has no end-of-validation hook without plots: the last one kept wins). Upstream
reports each image with at least one detection through ``on_val_image_end``, its boxes in the
original image's pixels (``predn``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ablation.evaluate.coco import CocoError, detections_to_results


class Detections:
    """Per-image detections of the last validation run outside a training epoch."""

    def __init__(self) -> None:
        self.images: list[tuple[Path, Any]] | None = None  # (absolute image path, rows x1 y1 x2 y2 score class)
        self._in_epoch = False
        self._kept = False  # the running validation is kept

    def callbacks(self) -> dict[str, Callable[..., None]]:
        """Upstream hook name → action, for ``Callbacks.register_action``."""
        return {
            "on_train_epoch_end": self._epoch_validation,
            "on_fit_epoch_end": self._epoch_done,
            "on_val_start": self._start,
            "on_val_image_end": self._image,
        }

    def register(self, callbacks: Any) -> Any:
        """``callbacks`` (upstream's ``Callbacks``) with these actions added."""
        for hook, action in self.callbacks().items():
            callbacks.register_action(hook, callback=action)
        return callbacks

    def results(self, ids: dict[Path, int], source: object) -> list[dict[str, Any]]:
        """The kept detections as COCO results; ``ids``: absolute image path → COCO image id
        (``coco.image_ids``); ``source`` names the data in the error of an unknown image."""
        if self.images is None:
            raise CocoError("no validation outside a training epoch was seen")
        results: list[dict[str, Any]] = []
        for key, rows in self.images:
            if key not in ids:
                raise CocoError(f"upstream validated {key}, which is not in the COCO instances of {source}")
            results.extend(detections_to_results(ids[key], rows))
        return results

    def _epoch_validation(self, *args: Any, **kwargs: Any) -> None:
        self._in_epoch = True

    def _epoch_done(self, *args: Any, **kwargs: Any) -> None:
        self._in_epoch = False

    def _start(self, *args: Any, **kwargs: Any) -> None:
        self._kept = not self._in_epoch
        if self._kept:
            self.images = []

    def _image(self, pred: Any, predn: Any, path: Any, names: Any, image: Any) -> None:
        if self._kept and self.images is not None:
            self.images.append((Path(os.path.abspath(path)), predn[:, :6].detach().cpu()))
