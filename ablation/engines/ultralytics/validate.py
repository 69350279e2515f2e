"""Detections of best.pt on the val split from the package's own ``DetectionValidator``.

Called with the settings of the package's final validation of best.pt (``BaseTrainer.final_eval``):
the training's own arguments from the checkpoint (``train_args``: image size, NMS IoU 0.7,
confidence 0.001, 300 detections), rectangular batches padded by half a stride and batch 2 x the
training batch (its val loader, whatever the training's ``rect``), half precision on CUDA when
the training used AMP. The validator's ``pred_to_json``
receives each image's detections in original-image pixels; ours keeps them per image instead
of writing COCO json (which takes image ids from numeric file names).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ablation.evaluate.coco import image_ids
from ablation.evaluate.final import Detections


def collecting_validator() -> type:
    from ultralytics.models.yolo.detect import DetectionValidator

    class CollectingValidator(DetectionValidator):  # type: ignore[misc,valid-type]
        """Keeps ``(absolute image path, rows x1 y1 x2 y2 score class)`` of every image."""

        def pred_to_json(self, predn: dict[str, Any], pbatch: dict[str, Any]) -> None:
            import torch

            rows = torch.cat([predn["bboxes"], predn["conf"][:, None], predn["cls"][:, None]], dim=1)
            self.collected.append((Path(os.path.abspath(pbatch["im_file"])), rows.detach().cpu()))

    return CollectingValidator


def validation_args(weights: Path, data_yaml: Path, single_cls: bool, save_dir: Path) -> dict[str, Any]:
    """The final validation's arguments for ``weights`` (its training's, from the checkpoint)."""
    from ultralytics.utils import DEFAULT_CFG_DICT
    from ultralytics.utils.patches import torch_load

    train = torch_load(weights, map_location="cpu").get("train_args") or {}
    batch = int(train.get("batch", 16))
    keep = ("imgsz", "iou", "conf", "max_det", "device", "workers", "agnostic_nms", "nms", "end2end")
    args = {k: train[k] for k in keep if k in train and k in DEFAULT_CFG_DICT}
    return {
        **args,
        "model": str(weights),
        "data": str(data_yaml),
        "batch": 2 * batch if batch > 0 else 32,
        "rect": True,  # the trainer's val loader is rectangular whatever train.rect (padded by half a stride)
        "single_cls": single_cls,
        "quantize": 16 if train.get("amp", True) not in (False, "fp32") else None,  # used on CUDA only
        "save_json": True,  # pred_to_json: the detections in original pixels
        "plots": False,
        "project": str(save_dir),
        "name": "val",
        "exist_ok": True,
        "mode": "val",
    }


def predict(
    dataset: Any, weights: Path, options: dict[str, Any], instances: dict[str, Any], save_dir: Path
) -> list[dict[str, Any]]:
    """COCO results of ``weights`` on the val split, with the final validation's settings."""
    from ablation.engines.ultralytics.engine import ENGINE

    ENGINE.setup()
    args = validation_args(Path(weights), Path(dataset.yaml), bool(dataset.single_cls), Path(save_dir))
    if options.get("device") not in (None, ""):
        args["device"] = options["device"]
    validator = collecting_validator()(args=args)
    validator.collected = []
    validator()
    detections = Detections()  # the evaluate step's per-image record, here filled by the validator
    detections.images = validator.collected
    return detections.results(image_ids(instances, dataset.root), dataset.yaml)
