"""Small random COCO ground truth and detections, and pycocotools' answer for them."""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import numpy as np


def coco_set(
    seed: int, images: int = 12, classes: int = 3, noise: float = 3.0, miss: float = 0.2
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ground truth (some crowd boxes, one class without boxes) and detections: jittered copies
    of the boxes (``miss`` of them dropped, some with the wrong class), plus false positives;
    scores rounded to 2 digits so that ties occur."""
    rng = np.random.default_rng(seed)
    truth: dict[str, Any] = {
        "images": [{"id": 3 * i + 1, "width": 64, "height": 64} for i in range(images)],
        "annotations": [],
        "categories": [{"id": c} for c in range(1, classes + 2)],
    }
    dets: list[dict[str, Any]] = []
    for image in truth["images"]:
        for _ in range(rng.integers(0, 5)):
            c = int(rng.integers(1, classes + 1))
            x, y = rng.uniform(0, 40, 2)
            w, h = rng.uniform(4, 24, 2)
            truth["annotations"].append(
                {
                    "id": len(truth["annotations"]) + 1,
                    "image_id": image["id"],
                    "category_id": c,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": int(rng.random() < 0.1),
                }
            )
            if rng.random() >= miss:
                label = c if rng.random() < 0.85 else int(rng.integers(1, classes + 1))
                box = [
                    x + rng.normal(0, noise),
                    y + rng.normal(0, noise),
                    w * rng.uniform(0.7, 1.3),
                    h * rng.uniform(0.7, 1.3),
                ]
                dets.append(
                    {"image_id": image["id"], "category_id": label, "bbox": box, "score": round(float(rng.random()), 2)}
                )
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 40, 2)
            w, h = rng.uniform(4, 24, 2)
            dets.append(
                {
                    "image_id": image["id"],
                    "category_id": int(rng.integers(1, classes + 1)),
                    "bbox": [x, y, w, h],
                    "score": round(float(rng.random()), 2),
                }
            )
    return truth, dets


def pycocotools_ap(truth: dict[str, Any], dets: list[dict[str, Any]]) -> tuple[float, float]:
    """(AP at IoU 0.5:0.95, AP50) from ``COCOeval``."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(truth)
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(copy.deepcopy(dets)), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0]), float(evaluation.stats[1])


def resampled(
    truth: dict[str, Any], dets: list[dict[str, Any]], positions: np.ndarray
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The data set made of the images at ``positions`` (of the sorted image ids; repeats are new
    images), as pycocotools would see a bootstrap resample."""
    ids = sorted(i["id"] for i in truth["images"])
    new: dict[str, Any] = {"images": [], "annotations": [], "categories": truth["categories"]}
    out: list[dict[str, Any]] = []
    for k, p in enumerate(positions):
        new["images"].append({"id": k + 1, "width": 64, "height": 64})
        new["annotations"] += [
            {**a, "id": len(new["annotations"]) + j + 1, "image_id": k + 1}
            for j, a in enumerate(a for a in truth["annotations"] if a["image_id"] == ids[p])
        ]
        out += [{**d, "image_id": k + 1} for d in dets if d["image_id"] == ids[p]]
    return new, out


def crowded_set(seed: int, images: int = 6, per_class: int = 130) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``coco_set`` plus, on some images, more than 100 detections of one class (the cap that
    COCOeval applies per image and class): jittered copies of a few boxes and false positives."""
    truth, dets = coco_set(seed, images=images)
    rng = np.random.default_rng(seed + 100)
    for image in truth["images"][::2]:
        boxes = [a for a in truth["annotations"] if a["image_id"] == image["id"] and not a["iscrowd"]] or [
            {"category_id": 1, "bbox": [10.0, 10.0, 20.0, 20.0]}
        ]
        category = boxes[0]["category_id"]
        for _ in range(per_class):
            x, y, w, h = boxes[int(rng.integers(0, len(boxes)))]["bbox"]
            if rng.random() < 0.5:  # a near or loose copy: matches at some IoU thresholds only
                box = [
                    x + rng.normal(0, 2.0),
                    y + rng.normal(0, 2.0),
                    w * rng.uniform(0.8, 1.2),
                    h * rng.uniform(0.8, 1.2),
                ]
            else:
                box = [*rng.uniform(0, 40, 2), *rng.uniform(4, 24, 2)]
            dets.append(
                {
                    "image_id": image["id"],
                    "category_id": category,
                    "bbox": [float(v) for v in box],
                    "score": round(float(rng.random()), 3),
                }
            )
    return truth, dets
