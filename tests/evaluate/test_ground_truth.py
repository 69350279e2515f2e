"""The COCO ground truth and predictions are upstream's validation set, seen as upstream sees it:
checked against upstream's own loader and ``save_json`` output, on a fresh offline machine."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ablation.engines.yolov5 import compat
from ablation.evaluate import evaluate_trained

SMALL = {"coco": True, "latency": {"enabled": False}}
ROTATIONS = {"0.jpg": 6, "1.jpg": 8, "2.jpg": 3, "10.jpg": 1, "11.png": 6}  # numeric file names, EXIF orientations


def job(data: Path, **options: object) -> dict:
    return {
        "options": {"data": str(data), "imgsz": 64, "batch_size": 2, "workers": 0, "device": "cpu", **options},
        "evaluate": SMALL,
    }


def evaluated(data: Path, best: Path, folder: Path, **options: object) -> tuple[dict, dict, list]:
    out = evaluate_trained(job(data, **options), best, folder)
    assert "coco_error" not in out, out["coco_error"]
    files = out["eval_files"]
    return (
        out["coco"],
        json.loads(Path(files["instances"]).read_text()),
        json.loads(Path(files["predictions"]).read_text()),
    )


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Non-square images stored with EXIF orientations, numeric file names, two boxes each."""
    root = tmp_path_factory.mktemp("rotated")
    rng = np.random.default_rng(0)
    for folder in ("images/val", "labels/val"):
        (root / folder).mkdir(parents=True)
    for name, orientation in ROTATIONS.items():
        exif = Image.Exif()
        exif[0x0112] = orientation
        pixels = rng.integers(0, 255, (48, 96, 3), dtype=np.uint8)  # stored 96 x 48
        Image.fromarray(pixels).save(root / "images/val" / name, exif=exif.tobytes())
        (root / "labels/val" / f"{Path(name).stem}.txt").write_text("0 0.3 0.25 0.2 0.3\n3 0.7 0.6 0.4 0.2\n")
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images/val\nval: images/val\nnames: [a, b, c, d, e]\n")
    return root / "data.yaml"


@pytest.fixture(scope="module")
def rotated_evaluated(
    rotated: Path, best_pt: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, dict, list]:
    return evaluated(rotated, best_pt, tmp_path_factory.mktemp("job"))


def upstream_truth(val: Path) -> dict[str, tuple[tuple[int, int], list[list[float]]]]:
    """Per image file: (width, height) and xyxy pixel boxes of the labels as upstream's val.py
    sees them (its loader, letterboxed, then ``scale_boxes`` back to the original image)."""
    import torch
    from yolov5.utils.dataloaders import LoadImagesAndLabels
    from yolov5.utils.general import scale_boxes, xywh2xyxy

    loader = LoadImagesAndLabels(str(val), img_size=64, batch_size=1, augment=False, rect=False, workers=0)
    truth = {}
    for i in range(len(loader)):
        image, labels, path, shapes = loader[i]
        height, width = image.shape[1:]
        boxes = xywh2xyxy(labels[:, 2:6] * torch.tensor((width, height, width, height)))
        scale_boxes(image.shape[1:], boxes, shapes[0], shapes[1])
        truth[Path(path).name] = ((shapes[0][1], shapes[0][0]), boxes.tolist())
    return truth


def test_ground_truth_is_upstreams_view_of_exif_rotated_images(rotated: Path, rotated_evaluated: tuple) -> None:
    _, instances, _ = rotated_evaluated
    truth = upstream_truth(rotated.parent / "images" / "val")
    assert sorted(truth) == sorted(ROTATIONS)
    sizes = {Path(i["file_name"]).name: (i["width"], i["height"]) for i in instances["images"]}
    assert sizes == {name: size for name, (size, _) in truth.items()}
    assert sizes["0.jpg"] == (48, 96) and sizes["2.jpg"] == (96, 48)  # 6 turns the stored 96 x 48 image, 3 does not
    names = {i["id"]: Path(i["file_name"]).name for i in instances["images"]}
    ours: dict[str, list] = {}
    for a in instances["annotations"]:
        x, y, w, h = a["bbox"]
        ours.setdefault(names[a["image_id"]], []).append([x, y, x + w, y + h])
    for name, (_, boxes) in truth.items():
        assert np.allclose(sorted(ours[name]), sorted(boxes), atol=2e-3), name


def test_predictions_equal_upstreams_save_json_on_numeric_file_names(
    rotated: Path, rotated_evaluated: tuple, best_pt: Path, tmp_path: Path
) -> None:
    from yolov5 import val

    _, instances, predictions = rotated_evaluated
    compat.provide_fonts()
    with compat.trusted_checkpoints(best_pt.parent):
        val.run(
            data=str(rotated),
            weights=str(best_pt),
            batch_size=4,
            imgsz=64,
            conf_thres=0.001,
            iou_thres=0.6,
            max_det=300,
            device="cpu",
            workers=0,
            half=True,
            save_json=True,
            project=str(tmp_path),
            name="upstream",
            plots=False,
        )
    theirs = json.loads((tmp_path / "upstream" / "best_predictions.json").read_text())  # image_id = int(file stem)
    stems = {i["id"]: int(Path(i["file_name"]).stem) for i in instances["images"]}
    assert len(predictions) == len(theirs) > 0

    def rows(results: list[dict], image_id: dict | None = None) -> np.ndarray:
        table = [
            [(image_id or {}).get(r["image_id"], r["image_id"]), r["category_id"], r["score"], *r["bbox"]]
            for r in results
        ]
        return np.array(sorted(table))

    assert np.allclose(rows(predictions, stems), rows(theirs), atol=2e-3)  # same images, classes, scores, pixels


def test_single_cls_scores_against_single_class_ground_truth(
    shapes: Path, best_pt_single: Path, tmp_path: Path
) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    metrics, instances, predictions = evaluated(shapes, best_pt_single, tmp_path, single_cls=True)
    assert instances["categories"] == [{"id": 0, "name": "item"}]
    # pycocotools on a ground truth built here: every label row of every val image, class 0
    images = sorted((shapes.parent / "images" / "val").glob("*.png"))
    truth = {"images": [], "annotations": [], "categories": [{"id": 0, "name": "item"}]}
    for image_id, image in enumerate(images, 1):
        width, height = Image.open(image).size
        truth["images"].append({"id": image_id, "width": width, "height": height})
        for row in (shapes.parent / "labels" / "val" / f"{image.stem}.txt").read_text().split("\n")[:-1]:
            _, x, y, w, h = (float(v) for v in row.split())
            box = [(x - w / 2) * width, (y - h / 2) * height, w * width, h * height]
            truth["annotations"].append(
                {
                    "id": len(truth["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": 0,
                    "bbox": box,
                    "area": box[2] * box[3],
                    "iscrowd": 0,
                }
            )
    assert [i["file_name"] for i in instances["images"]] == [f"images/val/{p.name}" for p in images]
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    gt = COCO(str(tmp_path / "truth.json"))
    evaluation = COCOeval(gt, gt.loadRes(predictions), "bbox")
    evaluation.evaluate(), evaluation.accumulate(), evaluation.summarize()
    assert {p["category_id"] for p in predictions} == {0}
    assert evaluation.stats[0] > 0 and metrics["AP"] == pytest.approx(evaluation.stats[0], abs=1e-4)
    assert metrics["AP50"] == pytest.approx(evaluation.stats[1], abs=1e-4)


def test_a_val_path_through_a_symbolic_link_keeps_its_coco_metrics(shapes: Path, best_pt: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(shapes.parent / "images" / "val", target_is_directory=True)
    data = tmp_path / "data.yaml"
    data.write_text(f"path: {shapes.parent}\ntrain: images/train\nval: {tmp_path / 'link'}\nnames: [a, b, c, d, e]\n")
    metrics, instances, predictions = evaluated(data, best_pt, tmp_path / "job")
    assert [i["file_name"] for i in instances["images"]] == [f"images/val/0000{i}.png" for i in range(4)]
    assert predictions and {p["image_id"] for p in predictions} <= {1, 2, 3, 4} and 0 <= metrics["AP"] <= 1


def test_evaluation_works_offline_with_an_empty_upstream_config_dir(
    shapes: Path, best_pt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yolov5.utils import general

    empty = tmp_path / "config"
    empty.mkdir()
    monkeypatch.setattr(general, "CONFIG_DIR", empty)  # a fresh machine: no Arial.ttf cached

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    metrics, _, predictions = evaluated(shapes, best_pt, tmp_path / "job")
    assert predictions and set(metrics) >= {"AP", "AP50"}
    assert sorted(p.name for p in empty.iterdir()) == ["Arial.Unicode.ttf", "Arial.ttf"]
