"""Detections of best.pt on the val set from upstream's own validation (``yolov5.val.run``).

Called with the settings of upstream's final validation in ``train.py`` (confidence 0.001, NMS
IoU 0.60 — 0.65 on COCO val2017 —, max 300 detections, half precision on CUDA, batch 2 x the
training batch, the training image size, rectangular batches). Detections are collected per
image from the ``on_val_image_end`` callback in original-image pixels (``final.Detections``);
upstream's ``save_json`` is not used (it takes COCO image ids from numeric file names). After
training the detections of upstream's own final validation are used instead; this second pass
is for a best.pt evaluated on its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ablation.data.dataset import Dataset
from ablation.engines.yolov5 import compat
from ablation.evaluate.coco import image_ids
from ablation.evaluate.final import Detections


def final_iou(data_yaml: Path) -> float:
    """Upstream's NMS IoU for the final validation: 0.65 on COCO val2017, else 0.60."""
    import yaml

    val = yaml.safe_load(Path(data_yaml).read_text()).get("val")
    return 0.65 if isinstance(val, str) and val.endswith(f"coco{os.sep}val2017.txt") else 0.60


def val_batch(options: dict[str, Any]) -> int:
    """Upstream's final validation batch, 2 x the training batch; val.py's default (32) when the
    training batch was chosen by upstream's autobatch (``batch: -1``), which we cannot know."""
    batch = int(options.get("batch_size", 16))
    return 2 * batch if batch > 0 else 32


def predict(
    dataset: Dataset, weights: Path, options: dict[str, Any], instances: dict[str, Any], save_dir: Path
) -> list[dict[str, Any]]:
    """COCO results of ``weights`` on the val split; ``options`` are the training's upstream options."""
    from yolov5 import val
    from yolov5.utils.callbacks import Callbacks

    data_yaml = dataset.yaml
    detections = Detections()
    callbacks = detections.register(Callbacks())
    compat.provide_fonts()  # val.run's check_dataset would download Arial.ttf
    with compat.trusted_checkpoints(Path(weights).parent):
        val.run(
            data=str(data_yaml),
            weights=str(weights),
            batch_size=val_batch(options),
            imgsz=int(options.get("imgsz", 640)),
            conf_thres=0.001,
            iou_thres=final_iou(data_yaml),
            max_det=300,
            device=str(options.get("device", "")),
            workers=int(options.get("workers", 8)),
            single_cls=dataset.single_cls,
            half=True,
            project=str(save_dir),
            name="val",
            exist_ok=True,
            plots=False,
            callbacks=callbacks,
        )
    return detections.results(image_ids(instances, dataset.root), data_yaml)


def load_inference_model(weights: Path, device: str = "") -> Any:
    """best.pt as upstream loads it for inference, on ``device`` (upstream's device string)."""
    from yolov5.models.experimental import attempt_load
    from yolov5.utils.torch_utils import select_device

    target = select_device(device)
    with compat.trusted_checkpoints(Path(weights).parent):
        model = attempt_load(str(weights), target, fuse=True)
    return model.half() if target.type == "cuda" else model
