"""COCO-style metrics with pycocotools: YOLO labels → COCO instances, detections → COCO results.

``yolo_to_coco`` turns a dataset's val split, as upstream's loader verifies it
(``data.dataset.Dataset.verified``: corrupt images left out, duplicate label rows removed by
value, one class with ``single_cls``), into a COCO instances dict (image ids 1..N in sorted path
order, category id = the head's class index, boxes in pixels of the decoded image);
``cached_instances`` writes it once per dataset, keyed by the files it was built from and
``single_cls``. ``coco_evaluate`` scores COCO results (``[{image_id, category_id, bbox [x, y, w,
h] px, score}]``) against it with ``COCOeval`` and returns AP, AP50, AP75, AP_small/medium/large
and AR100 (a size range without ground truth, reported as -1 by pycocotools, is left out). The
numbers differ from upstream's own mAP (its interpolation and matching are not COCO's); both are
logged, under different names.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ablation.data.dataset import Dataset

VERSION = 2  # of the instances format below; part of the cache key
# COCOeval.stats index of each metric we log (stats[6], stats[7] are AR1, AR10).
STATS = {"AP": 0, "AP50": 1, "AP75": 2, "AP_small": 3, "AP_medium": 4, "AP_large": 5, "AR100": 8}


class CocoError(ValueError):
    """The val split or the predictions cannot be turned into COCO json."""


def yolo_to_coco(dataset: Dataset) -> dict[str, Any]:
    """COCO instances (images, annotations, categories) of the val split of ``dataset``; the
    images upstream ignores as corrupt are named in ``info.excluded``."""
    if not dataset.images("val"):
        raise CocoError(f"no val images found in {[str(p) for p in dataset.split_paths('val')]}")
    split = dataset.verified("val")
    root = dataset.root
    images, annotations = [], []
    for image_id, (image, labels, (width, height)) in enumerate(zip(split.images, split.labels, split.sizes), start=1):
        images.append({"id": image_id, "file_name": _relative(Path(image), root), "width": width, "height": height})
        for category, *box in labels.tolist():
            annotations.append(
                _annotation(len(annotations) + 1, image_id, int(category), _to_pixels(box, width, height))
            )
    categories = [{"id": i, "name": name} for i, name in enumerate(dataset.class_names)]
    if split.excluded:
        print(
            f"[ablation] COCO ground truth leaves out {len(split.excluded)} image(s) upstream ignores as corrupt: "
            f"{split.excluded[:3]}",
            file=sys.stderr,
        )
    excluded = [_relative(Path(image), root) for image in split.excluded]
    info = {"single_cls": dataset.single_cls, "excluded": excluded}
    return {"info": info, "images": images, "annotations": annotations, "categories": categories}


def cached_instances(dataset: Dataset, fallback_dir: Path) -> Path:
    """The instances json of ``dataset``'s val split, built once per dataset.

    Cached beside the dataset (``<path>/ablation-coco/instances_val-<key>.json``, the key hashing
    ``single_cls``, the class names and every image and label file's name, size and mtime); in
    ``fallback_dir`` if that is read-only.
    """
    root = dataset.root
    name = f"instances_val-{_dataset_key(dataset)}.json"
    for folder in (root / "ablation-coco", fallback_dir):
        target = folder / name
        if target.is_file():
            return target
        try:
            _write_atomically(target, yolo_to_coco(dataset))
            return target
        except OSError:
            continue
    raise CocoError(f"cannot write {name} beside {root} nor in {fallback_dir}")


def coco_evaluate(instances: dict[str, Any], predictions: list[dict[str, Any]]) -> dict[str, float]:
    """COCOeval (bbox) of ``predictions`` against ``instances``; keys of ``STATS``, -1 left out."""
    from pycocotools.cocoeval import COCOeval

    truth = _coco(instances)
    known = set(truth.getImgIds())
    stray = [p["image_id"] for p in predictions if p["image_id"] not in known]
    if stray:
        raise CocoError(f"{len(stray)} predictions name image ids not in the instances (first: {stray[0]})")
    detections = _coco({**instances, "annotations": [_result_annotation(i, p) for i, p in enumerate(predictions, 1)]})
    evaluation = COCOeval(truth, detections, "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    stats = evaluation.stats
    return {key: float(stats[i]) for key, i in STATS.items() if stats[i] >= 0}


def image_ids(instances: dict[str, Any], root: Path) -> dict[Path, int]:
    """Absolute image path → image id, to attach detections of an image to its id."""
    return {_absolute(root / image["file_name"]): int(image["id"]) for image in instances["images"]}


def detections_to_results(image_id: int, detections: Any) -> list[dict[str, Any]]:
    """Rows ``x1, y1, x2, y2, score, class`` in pixels of the original image → COCO results."""
    results = []
    for x1, y1, x2, y2, score, category in detections.tolist():
        box = [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)]
        results.append({"image_id": image_id, "category_id": int(category), "bbox": box, "score": round(score, 5)})
    return results


def _absolute(path: Path) -> Path:
    """Absolute and normalised, symbolic links not followed (as upstream's paths are)."""
    return Path(os.path.abspath(path))


def _relative(image: Path, root: Path) -> str:
    return str(image.relative_to(root)) if image.is_relative_to(root) else str(image)


def _to_pixels(box: list[float], width: int, height: int) -> list[float]:
    x, y, w, h = box
    return [(x - w / 2) * width, (y - h / 2) * height, w * width, h * height]


def _annotation(annotation_id: int, image_id: int, category: int, bbox: list[float]) -> dict[str, Any]:
    bbox = [round(v, 3) for v in bbox]
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": category,
        "bbox": bbox,
        "area": round(bbox[2] * bbox[3], 3),
        "iscrowd": 0,
    }


def _result_annotation(annotation_id: int, prediction: dict[str, Any]) -> dict[str, Any]:
    """A COCO result as pycocotools' ``loadRes`` stores it (ids from 1: id 0 reads as unmatched)."""
    row = _annotation(
        annotation_id, int(prediction["image_id"]), int(prediction["category_id"]), list(prediction["bbox"])
    )
    return {**row, "score": float(prediction["score"])}


def _coco(dataset: dict[str, Any]) -> Any:
    """A pycocotools COCO object over a copy of ``dataset``: COCOeval sets keys (``ignore``,
    ``_ignore``) on the annotation dicts it reads, and writes nothing deeper, so each image,
    annotation and category dict is copied, not the boxes inside them."""
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = {
        **dataset,
        **{
            key: [dict(item) for item in dataset[key]]
            for key in ("images", "annotations", "categories")
            if key in dataset
        },
    }
    coco.createIndex()
    return coco


def _dataset_key(dataset: Dataset) -> str:
    header = {"version": VERSION, "names": dataset.class_names, "single_cls": dataset.single_cls}
    digest = hashlib.sha1(json.dumps(header).encode())
    for path in (*dataset.images("val"), *dataset.label_files("val")):
        stat = os.stat(path) if os.path.isfile(path) else None
        digest.update(f"{path}|{stat.st_size if stat else -1}|{stat.st_mtime_ns if stat else -1}\n".encode())
    return digest.hexdigest()[:12]


def _write_atomically(target: Path, content: dict[str, Any]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    try:
        with os.fdopen(handle, "w") as sink:
            json.dump(content, sink)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
