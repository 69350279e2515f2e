"""COCO-style metrics with pycocotools: YOLO labels → COCO instances, detections → COCO results.

``yolo_to_coco`` turns a data yaml's val split into a COCO instances dict (image ids 1..N in
sorted path order, category id = YOLO class index, boxes in pixels); ``cached_instances``
writes it once per dataset, keyed by the files it was built from. ``coco_evaluate`` scores COCO
results (``[{image_id, category_id, bbox [x, y, w, h] px, score}]``) against it with
``COCOeval`` and returns AP, AP50, AP75, AP_small/medium/large and AR100 (a size range without
ground truth, reported as -1 by pycocotools, is left out). The numbers differ from upstream's
own mAP (its interpolation and matching are not COCO's); both are logged, under different names.
"""

from __future__ import annotations

import copy
import glob
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ..data.resolve import IMAGE_SUFFIXES

VERSION = 1  # of the instances format below; part of the cache key
# COCOeval.stats index of each metric we log (stats[6], stats[7] are AR1, AR10).
STATS = {"AP": 0, "AP50": 1, "AP75": 2, "AP_small": 3, "AP_medium": 4, "AP_large": 5, "AR100": 8}
EXIF_ORIENTATION = 0x0112
ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


class CocoError(ValueError):
    """The val split or the predictions cannot be turned into COCO json."""


def yolo_to_coco(data_yaml: Path) -> dict[str, Any]:
    """COCO instances (images, annotations, categories) of the val split of ``data_yaml``."""
    data, root = _read_data(data_yaml)
    images, annotations = [], []
    for image_id, image in enumerate(val_images(data, root), start=1):
        width, height = image_size(image)
        images.append({"id": image_id, "file_name": _relative(image, root), "width": width, "height": height})
        for category, box in read_labels(label_path(image)):
            annotations.append(_annotation(len(annotations) + 1, image_id, category, _to_pixels(box, width, height)))
    categories = [{"id": i, "name": name} for i, name in enumerate(_names(data))]
    return {"images": images, "annotations": annotations, "categories": categories}


def val_images(data: dict[str, Any], root: Path) -> list[Path]:
    """The val split's images as upstream lists them: folders (recursively, ``**/*.*``) and .txt
    lists; absolute, symbolic links kept as links (upstream finds labels from the link's path)."""
    entries = data["val"] if isinstance(data["val"], list) else [data["val"]]
    found: set[Path] = set()
    for entry in entries:
        path = Path(str(entry)) if Path(str(entry)).is_absolute() else root / str(entry)
        if path.is_dir():
            found.update(Path(p) for p in glob.glob(str(path / "**" / "*.*"), recursive=True))
        elif path.is_file():
            found.update(_listed(path))
        else:
            raise CocoError(f"val entry {path} of {root} is neither a folder nor an image list")
    images = sorted({_absolute(p) for p in found if p.suffix.lower() in IMAGE_SUFFIXES})
    if not images:
        raise CocoError(f"no val images found under {entries} (relative to {root})")
    return images


def label_path(image: Path) -> Path:
    """Upstream's rule: the last ``images`` folder in the path becomes ``labels``, suffix ``.txt``."""
    parts = list(image.parts)
    if "images" not in parts:
        return image.with_suffix(".txt")
    index = len(parts) - 1 - parts[::-1].index("images")
    parts[index] = "labels"
    return Path(*parts).with_suffix(".txt")


def read_labels(path: Path) -> list[tuple[int, tuple[float, float, float, float]]]:
    """``(class, (x_center, y_center, w, h))`` normalised, duplicates dropped; polygons as their box."""
    if not path.is_file():
        return []
    rows: dict[str, tuple[int, tuple[float, float, float, float]]] = {}
    for line in path.read_text().splitlines():
        values = line.split()
        if values:
            rows.setdefault(" ".join(values), (int(float(values[0])), _box(values[1:], path)))
    return list(rows.values())


def image_size(image: Path) -> tuple[int, int]:
    """Width and height as displayed (EXIF rotation applied, as upstream's loader does)."""
    from PIL import Image

    with Image.open(image) as im:
        width, height = im.size
        if im.getexif().get(EXIF_ORIENTATION) in ROTATED:
            return height, width
    return width, height


def cached_instances(data_yaml: Path, fallback_dir: Path) -> Path:
    """The instances json of ``data_yaml``'s val split, built once per dataset.

    Cached beside the dataset (``<path>/ablation-coco/instances_val-<key>.json``, the key hashing
    every image and label file's name, size and mtime); in ``fallback_dir`` if that is read-only.
    """
    data, root = _read_data(data_yaml)
    name = f"instances_val-{_dataset_key(data, root)}.json"
    for folder in (root / "ablation-coco", fallback_dir):
        target = folder / name
        if target.is_file():
            return target
        try:
            _write_atomically(target, yolo_to_coco(data_yaml))
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


def dataset_root(data_yaml: Path) -> Path:
    return _read_data(data_yaml)[1]


def _read_data(data_yaml: Path) -> tuple[dict[str, Any], Path]:
    data = yaml.safe_load(Path(data_yaml).read_text())
    if not isinstance(data, dict) or not data.get("val"):
        raise CocoError(f"data yaml {data_yaml} has no val split")
    root = Path(str(data.get("path") or Path(data_yaml).parent)).expanduser()
    return data, _absolute(root if root.is_absolute() else Path(data_yaml).parent / root)


def _names(data: dict[str, Any]) -> list[str]:
    names = data.get("names") or []
    return [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else [str(n) for n in names]


def _listed(listing: Path) -> list[Path]:
    """Images named in a .txt list; ``./x`` is relative to the list's folder, as upstream reads it."""
    paths = []
    for line in listing.read_text().splitlines():
        line = line.strip()
        if line:
            path = listing.parent / line[2:] if line.startswith("./") else Path(line)
            paths.append(path if path.is_absolute() else listing.parent / path)
    return paths


def _absolute(path: Path) -> Path:
    """Absolute and normalised, symbolic links not followed (as upstream's paths are)."""
    return Path(os.path.abspath(path))


def _relative(image: Path, root: Path) -> str:
    return str(image.relative_to(root)) if image.is_relative_to(root) else str(image)


def _box(values: list[str], path: Path) -> tuple[float, float, float, float]:
    numbers = [float(v) for v in values]
    if len(numbers) == 4:
        return numbers[0], numbers[1], numbers[2], numbers[3]
    if len(numbers) < 6 or len(numbers) % 2:
        raise CocoError(f"label file {path} has a row with {len(numbers) + 1} values; expected 5 (class x y w h) or a polygon")
    xs, ys = numbers[0::2], numbers[1::2]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, max(xs) - min(xs), max(ys) - min(ys)


def _to_pixels(box: tuple[float, float, float, float], width: int, height: int) -> list[float]:
    x, y, w, h = box
    return [(x - w / 2) * width, (y - h / 2) * height, w * width, h * height]


def _annotation(annotation_id: int, image_id: int, category: int, bbox: list[float]) -> dict[str, Any]:
    bbox = [round(v, 3) for v in bbox]
    return {
        "id": annotation_id, "image_id": image_id, "category_id": category, "bbox": bbox,
        "area": round(bbox[2] * bbox[3], 3), "iscrowd": 0,
    }


def _result_annotation(annotation_id: int, prediction: dict[str, Any]) -> dict[str, Any]:
    """A COCO result as pycocotools' ``loadRes`` stores it (ids from 1: id 0 reads as unmatched)."""
    row = _annotation(annotation_id, int(prediction["image_id"]), int(prediction["category_id"]), list(prediction["bbox"]))
    return {**row, "score": float(prediction["score"])}


def _coco(dataset: dict[str, Any]) -> Any:
    """A pycocotools COCO object over a copy of ``dataset`` (COCOeval adds keys to what it reads)."""
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = copy.deepcopy(dataset)
    coco.createIndex()
    return coco


def _dataset_key(data: dict[str, Any], root: Path) -> str:
    digest = hashlib.sha1(json.dumps({"version": VERSION, "names": _names(data)}).encode())
    for image in val_images(data, root):
        for path in (image, label_path(image)):
            stat = path.stat() if path.is_file() else None
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
