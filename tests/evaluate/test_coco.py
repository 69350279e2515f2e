"""YOLO labels → COCO instances, and pycocotools scoring of COCO results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from ablation.data.dataset import Dataset, describe
from ablation.evaluate.coco import CocoError, cached_instances, coco_evaluate, yolo_to_coco


def write_dataset(root: Path, labels: dict[str, str], size: tuple[int, int] = (100, 50)) -> Dataset:
    """Images ``root/images/val/<name>.png`` of ``size`` with label text; returns its description."""
    for name, text in labels.items():
        (root / "images" / "val").mkdir(parents=True, exist_ok=True)
        (root / "labels" / "val").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size).save(root / "images" / "val" / f"{name}.png")
        if text is not None:
            (root / "labels" / "val" / f"{name}.txt").write_text(text)
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/val\nval: images/val\nnames: {{0: cat, 1: dog}}\n")
    return describe(data)


def as_results(instances: dict, score: float = 0.9) -> list[dict]:
    return [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": score}
        for a in instances["annotations"]
    ]


@pytest.fixture
def two_images(tmp_path: Path) -> Dataset:
    # a: one box and the same row twice (upstream drops duplicates); b: a polygon; c: no label file
    return write_dataset(
        tmp_path,
        {
            "a": "0 0.5 0.5 0.2 0.4\n0 0.5 0.5 0.2 0.4\n1 0.1 0.2 0.2 0.4\n",
            "b": "1 0.1 0.1 0.3 0.1 0.3 0.5 0.1 0.5\n",
            "c": None,
        },
    )


def test_yolo_boxes_become_pixel_boxes_with_coco_ids(two_images: Dataset) -> None:
    instances = yolo_to_coco(two_images)
    assert instances["categories"] == [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}]
    assert instances["images"] == [
        {"id": 1, "file_name": "images/val/a.png", "width": 100, "height": 50},
        {"id": 2, "file_name": "images/val/b.png", "width": 100, "height": 50},
        {"id": 3, "file_name": "images/val/c.png", "width": 100, "height": 50},
    ]
    first, second, polygon = instances["annotations"]
    # centre (50, 25), 20 x 20 px
    assert first == {
        "id": 1,
        "image_id": 1,
        "category_id": 0,
        "bbox": [40.0, 15.0, 20.0, 20.0],
        "area": 400.0,
        "iscrowd": 0,
    }
    assert second["bbox"] == [0.0, 0.0, 20.0, 20.0] and second["category_id"] == 1
    # polygon x 0.1..0.3, y 0.1..0.5 → its box
    assert polygon["image_id"] == 2 and polygon["bbox"] == [10.0, 5.0, 20.0, 20.0] and polygon["id"] == 3


def test_an_image_upstream_rejects_is_left_out_and_named(tmp_path: Path) -> None:
    # a: a label row of 4 values, b: not an image (upstream's loader ignores both as corrupt)
    data = write_dataset(tmp_path, {"a": "0 0.5 0.5 0.2\n", "b": "0 0.5 0.5 0.2 0.2\n", "c": "1 0.5 0.5 0.2 0.2\n"})
    (tmp_path / "images" / "val" / "b.png").write_bytes(b"\x89PNG truncated")
    instances = yolo_to_coco(data)
    assert [i["file_name"] for i in instances["images"]] == ["images/val/c.png"]
    assert [(a["image_id"], a["category_id"]) for a in instances["annotations"]] == [(1, 1)]
    assert instances["info"]["excluded"] == ["images/val/a.png", "images/val/b.png"]


def test_duplicate_label_rows_are_dropped_by_value_not_by_text(tmp_path: Path) -> None:
    data = write_dataset(
        tmp_path, {"a": "0 0.5 0.5 0.2 0.4\n0 0.50 0.500 0.2 0.40\n0.0 5e-1 0.5 0.2 0.4\n1 0.5 0.5 0.2 0.4\n"}
    )
    assert [a["category_id"] for a in yolo_to_coco(data)["annotations"]] == [0, 1]


def test_instances_are_cached_per_dataset_and_rebuilt_when_labels_change(two_images: Dataset, tmp_path: Path) -> None:
    first = cached_instances(two_images, tmp_path / "job")
    assert first.parent == two_images.root / "ablation-coco"
    assert json.loads(first.read_text()) == yolo_to_coco(two_images)
    assert cached_instances(two_images, tmp_path / "job") == first
    (two_images.root / "labels" / "val" / "c.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    changed = cached_instances(two_images, tmp_path / "job")
    assert changed != first and len(json.loads(changed.read_text())["annotations"]) == 4


def test_single_cls_has_its_own_cached_ground_truth_of_one_class(two_images: Dataset, tmp_path: Path) -> None:
    single = two_images.with_single_cls(True)
    merged = json.loads(cached_instances(single, tmp_path / "job").read_text())
    assert cached_instances(single, tmp_path / "job") != cached_instances(two_images, tmp_path / "job")
    assert merged["categories"] == [{"id": 0, "name": "item"}] and merged["info"]["single_cls"] is True
    assert [a["category_id"] for a in merged["annotations"]] == [0, 0, 0]
    assert [a["bbox"] for a in merged["annotations"]] == [a["bbox"] for a in yolo_to_coco(two_images)["annotations"]]


def test_ground_truth_as_predictions_scores_one(two_images: Dataset) -> None:
    instances = yolo_to_coco(two_images)
    metrics = coco_evaluate(instances, as_results(instances))
    # all boxes are 20 x 20 px (small); medium and large have no ground truth (-1): left out
    assert metrics == {"AP": 1.0, "AP50": 1.0, "AP75": 1.0, "AP_small": 1.0, "AR100": 1.0}


def test_imperfect_predictions_score_between_zero_and_one(two_images: Dataset) -> None:
    instances = yolo_to_coco(two_images)
    shifted = as_results(instances)
    shifted[0]["bbox"] = [44.0, 15.0, 20.0, 20.0]  # IoU 16/24 = 0.67: a hit at 0.5, a miss at 0.75
    shifted.append({"image_id": 3, "category_id": 0, "bbox": [1.0, 1.0, 5.0, 5.0], "score": 0.95})  # false positive
    metrics = coco_evaluate(instances, shifted)
    assert set(metrics) == {"AP", "AP50", "AP75", "AP_small", "AR100"}
    assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert metrics["AP75"] < metrics["AP50"] < 1.0 and metrics["AP"] < metrics["AP50"]


def test_scoring_leaves_its_inputs_as_they_were_and_scores_the_same_twice(two_images: Dataset) -> None:
    instances = yolo_to_coco(two_images)
    predictions = as_results(instances)
    predictions[0]["bbox"] = [44.0, 15.0, 20.0, 20.0]
    before = json.dumps([instances, predictions], sort_keys=True)
    first = coco_evaluate(instances, predictions)
    assert json.dumps([instances, predictions], sort_keys=True) == before  # no "ignore" keys added
    assert coco_evaluate(instances, predictions) == first
    assert first["AP50"] == 1.0 and first["AP75"] == 0.5  # one of the two boxes is a miss at IoU 0.75


def test_no_predictions_score_zero(two_images: Dataset) -> None:
    assert coco_evaluate(yolo_to_coco(two_images), [])["AP"] == 0.0


def test_predictions_for_unknown_images_are_rejected(two_images: Dataset) -> None:
    stray = [{"image_id": 9, "category_id": 0, "bbox": [0, 0, 1, 1], "score": 0.5}]
    with pytest.raises(CocoError, match=r"^1 predictions name image ids not in the instances \(first: 9\)$"):
        coco_evaluate(yolo_to_coco(two_images), stray)


def test_symlinked_images_keep_their_own_labels_and_names(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "set", {"a": "0 0.5 0.5 0.2 0.4\n"})
    image = tmp_path / "set" / "images" / "val" / "a.png"
    elsewhere = tmp_path / "store" / "images" / "val" / "blob.png"  # its labels/ twin has none
    elsewhere.parent.mkdir(parents=True)
    image.rename(elsewhere)
    image.symlink_to(elsewhere)
    instances = yolo_to_coco(data)
    assert [i["file_name"] for i in instances["images"]] == ["images/val/a.png"]
    assert [a["bbox"] for a in instances["annotations"]] == [[40.0, 15.0, 20.0, 20.0]]


def test_a_val_split_without_images_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "images" / "val").mkdir(parents=True)
    (tmp_path / "images" / "val" / "notes.txt").write_text("not an image")
    (tmp_path / "data.yaml").write_text(f"path: {tmp_path}\nval: images/val\nnames: [a]\n")
    with pytest.raises(CocoError, match=r"^no val images found in \[.*images/val'\]$"):
        yolo_to_coco(describe(tmp_path / "data.yaml"))
