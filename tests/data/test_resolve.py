"""A dataset that cannot be trained is one sentence naming the fix, before anything trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ablation.data.resolve import DataError, load


def dataset(root: Path, labels: bool = True) -> Path:
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "images" / split / "a.jpg").write_bytes(b"not decoded here")
        if labels:
            (root / "labels" / split).mkdir(parents=True)
            (root / "labels" / split / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    return root


def write(path: Path, data: object) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_relative_paths_resolve_against_path_or_the_yaml_folder(tmp_path: Path) -> None:
    root = dataset(tmp_path / "set")
    with_path = write(
        tmp_path / "a.yaml", {"path": str(root), "train": "images/train", "val": "images/val", "names": {0: "car"}}
    )
    beside = write(root / "b.yaml", {"train": "images/train", "val": "images/val", "names": ["car", "bus"]})
    a, b = load(with_path, tmp_path / "wa"), load(beside, tmp_path / "wb")
    assert (a.nc, a.names, b.nc) == (1, ["car"], 2)
    for data in (a, b):
        written = yaml.safe_load(data.yaml.read_text())
        assert written["train"] == str(root / "images" / "train") and written["val"] == str(root / "images" / "val")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("train: [\n", r"is not valid YAML"),
        ("- a\n- b\n", r"must be a mapping with train, val and names keys"),
        ({"train": "images/train", "val": "images/val"}, r"has no class 'names' list; add names: \[class0"),
        ({"train": "images/train", "val": "images/val", "names": ["a"], "nc": 2}, r"says nc: 2 but lists 1 names"),
        ({"train": "images/train", "names": ["a"]}, r"has no 'val' entry; add 'val: images/val'"),
        (
            {"train": "images/nope", "val": "images/val", "names": ["a"]},
            r"train path .*images/nope does not exist; fix 'train:'",
        ),
    ],
)
def test_malformed_data_yaml(tmp_path: Path, content: object, match: str) -> None:
    dataset(tmp_path)
    with pytest.raises(DataError, match=match) as err:
        load(write(tmp_path / "data.yaml", content), tmp_path / "work")
    assert "\n" not in str(err.value)


def test_missing_yaml_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"does not exist; pass data.path=/absolute/path/to/data.yaml"):
        load(tmp_path / "missing.yaml", tmp_path)


def test_folder_without_images_or_labels(tmp_path: Path) -> None:
    root = dataset(tmp_path / "set", labels=False)
    data = write(root / "data.yaml", {"train": "images/train", "val": "images/val", "names": ["a"]})
    with pytest.raises(DataError, match=r"no labels for .*images/train; YOLO format keeps them in .*labels/train"):
        load(data, tmp_path / "w")
    (root / "images" / "train" / "a.jpg").unlink()
    with pytest.raises(DataError, match=r"train folder .*images/train contains no images"):
        load(data, tmp_path / "w")
