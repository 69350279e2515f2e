"""One dataset description, upstream's rules: class count after single_cls, images and label files
as upstream's loader lists them, split paths as upstream's check_dataset resolves them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from PIL import Image

from ablation.config.grid import expand
from ablation.data.dataset import describe, list_images
from ablation.data.resolve import DataError, load
from ablation.plan.planner import plan


def image(path: Path, size: tuple[int, int] = (32, 24)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size).save(path)
    return path


def test_single_cls_plans_a_one_class_head_with_upstreams_parameter_count(tmp_path: Path) -> None:
    import ablation

    ablation.setup()
    from yolov5.models.yolo import Model

    from ablation.engines.yolov5.build import quiet_upstream
    from ablation.engines.yolov5.paths import model_yaml

    overrides = [
        "model=yolov5n",
        "preflight.enabled=false",
        "preflight.workers=1",
        "preflight.gflops_imgsz=320",
        "data.train=4",
        "data.val=4",
        f"data.root={tmp_path / 'datasets'}",
        "train.single_cls=false,true",
    ]
    entries = expand("plan", overrides)
    rows = plan(entries, tmp_path / "plan", entries[0].cfg.preflight)
    with quiet_upstream():  # no layer table: it profiles the model at 640 px
        upstream = {nc: sum(p.numel() for p in Model(str(model_yaml("yolov5n")), nc=nc).parameters()) for nc in (1, 5)}
    assert [(r.nc, r.params, r.error) for r in rows] == [(5, upstream[5], ""), (1, upstream[1], "")]
    assert 0 < rows[1].gflops < rows[0].gflops  # the one-class head computes less


def test_the_description_counts_classes_as_upstreams_train_py(tmp_path: Path) -> None:
    data = tmp_path / "data.yaml"
    data.write_text("path: .\ntrain: a\nval: a\nnames: {0: car, 1: bus}\n")
    described = describe(data)
    assert (described.nc, described.class_names) == (2, ["car", "bus"])
    assert (described.with_single_cls(True).nc, described.with_single_cls(True).class_names) == (1, ["item"])
    data.write_text("path: .\ntrain: a\nval: a\nnames: [car]\n")
    assert describe(data, single_cls=True).class_names == ["car"]


def test_images_and_label_files_are_listed_as_upstreams_loader_lists_them(tmp_path: Path) -> None:
    from yolov5.utils.dataloaders import LoadImagesAndLabels

    root = tmp_path / "set"
    for name in (
        "images/val/b.png",
        "images/val/deep/a.PNG",
        "images/val/x/images/c.png",
        "other/d.png",
        "other/e.png",
    ):
        image(root / name)
    (root / "images/val/notes.txt").write_text("not an image")
    listing = root / "val.txt"
    listing.write_text(f"./other/d.png\n{root / 'other/e.png'}\n")
    for path in (root / "labels/val/b.txt", root / "other/d.txt"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("0 0.5 0.5 0.2 0.2\n")
    paths = [root / "images" / "val", listing]
    loader = LoadImagesAndLabels([str(p) for p in paths], img_size=32, batch_size=1, workers=0)
    assert list_images(paths) == loader.im_files and len(loader.im_files) == 5
    (root / "data.yaml").write_text(
        yaml.safe_dump({"path": str(root), "train": "val.txt", "val": ["images/val", "val.txt"], "names": ["a"]})
    )
    described = describe(root / "data.yaml")
    assert described.images("val") == loader.im_files and described.label_files("val") == loader.label_files
    assert described.label_files("val")[2] == str(root / "images/val/x/labels/c.txt")  # the last /images/ only


def test_labels_beside_the_images_are_upstreams_rule_and_accepted(tmp_path: Path) -> None:
    for split in ("train", "val"):
        image(tmp_path / split / "a.png")
        (tmp_path / split / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    data = tmp_path / "data.yaml"
    data.write_text("train: train\nval: val\nnames: [a]\n")
    described = load(data, tmp_path / "work")
    assert described.label_files("val") == [str(tmp_path / "val" / "a.txt")]


def test_a_labels_folder_upstream_does_not_read_is_refused(tmp_path: Path) -> None:
    for split in ("train", "val"):
        image(tmp_path / split / "a.png")
        (tmp_path / "labels" / split).mkdir(parents=True)  # upstream looks beside the images, not here
        (tmp_path / "labels" / split / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    data = tmp_path / "data.yaml"
    data.write_text("train: train\nval: val\nnames: [a]\n")
    with pytest.raises(
        DataError, match=rf"no labels for {tmp_path}/train; YOLO format keeps them in {tmp_path}/train \(one"
    ):
        load(data, tmp_path / "work")


def test_split_paths_through_symbolic_links_are_resolved_as_upstream_resolves_them(tmp_path: Path) -> None:
    real = tmp_path / "real"
    for split in ("train", "val"):
        image(real / "images" / split / "a.png")
        (real / "labels" / split).mkdir(parents=True)
        (real / "labels" / split / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    data = tmp_path / "data.yaml"
    data.write_text(f"path: {tmp_path / 'link'}\ntrain: images/train\nval: images/val\nnames: [a]\n")
    written = yaml.safe_load(load(data, tmp_path / "work").yaml.read_text())
    assert (written["path"], written["val"]) == (str(real), str(real / "images" / "val"))
    assert describe(data).images("val") == [str(real / "images" / "val" / "a.png")]
    assert os.path.realpath(describe(data).root) == str(real)
