"""One description of a dataset, as the pinned upstream engine reads it.

``Dataset`` is what planning (the head's class count), preflight, training (the normalised data
yaml), COCO conversion (the validation images and their labels) and the report use, so that each
rule exists once and is upstream's: ``nc`` counts one class with ``single_cls`` (``train.py``);
``images`` lists a split as ``LoadImagesAndLabels`` does (folders recursively, ``.txt`` lists,
upstream's ``IMG_FORMATS``); ``label_files`` applies upstream's ``img2label_paths``; ``verified``
is upstream's own loader over the split (corrupt images dropped, duplicate label rows removed by
value, classes merged with ``single_cls``). Importing this module imports neither torch nor upstream.
"""

from __future__ import annotations

import contextlib
import glob
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ablation.engines import engine

if TYPE_CHECKING:
    import numpy as np

SPLITS = ("train", "val", "test")
SINGLE_CLASS_NAME = "item"  # upstream's train.py name for the merged class of several


@dataclass(frozen=True)
class Split:
    """A split after upstream's loader verified it (ordered as ``images``, corrupt ones left out)."""

    images: list[str]
    labels: list[np.ndarray]  # per image, rows (class, x_center, y_center, width, height) normalised
    sizes: list[tuple[int, int]]  # per image, (width, height) of the decoded image (EXIF applied)
    excluded: list[str] = field(default_factory=list)  # listed images upstream ignores as corrupt


@dataclass(frozen=True)
class Dataset:
    yaml: Path  # normalised data yaml: absolute, symbolic-link-free split paths
    source: str  # what the user gave, or "synthetic"
    names: list[str]  # the yaml's class names
    single_cls: bool = False  # train.single_cls: every class merged into class 0

    @property
    def nc(self) -> int:
        """Classes of the detection head (upstream's ``train.py``: 1 with ``single_cls``)."""
        return 1 if self.single_cls else len(self.names)

    @property
    def class_names(self) -> list[str]:
        """Names of the head's classes, as upstream's ``train.py`` names them."""
        if self.single_cls and len(self.names) != 1:
            return [SINGLE_CLASS_NAME]
        return list(self.names)

    def with_single_cls(self, single_cls: bool) -> Dataset:
        return replace(self, single_cls=bool(single_cls))

    @property
    def root(self) -> Path:
        """The yaml's ``path`` (relative: to the yaml's folder), symbolic links resolved."""
        return (self.yaml.parent / str(self._data().get("path") or ".")).resolve()

    def split_paths(self, split: str = "val") -> list[Path]:
        """The split's folders and ``.txt`` lists as upstream's ``check_dataset`` resolves them
        (against ``root``, symbolic links followed)."""
        entry = self._data().get(split)
        if entry in (None, ""):
            return []
        return [(self.root / str(e)).resolve() for e in (entry if isinstance(entry, list) else [entry])]

    def images(self, split: str = "val") -> list[str]:
        """The split's image files, listed and sorted as upstream's loader lists them (not verified)."""
        return list_images(self.split_paths(split))

    def label_files(self, split: str = "val") -> list[str]:
        """Where upstream reads each image's labels (``img2label_paths``), in ``images`` order."""
        return label_paths(self.images(split))

    def verified(self, split: str = "val") -> Split:
        """The split through upstream's own ``LoadImagesAndLabels`` (it reads and writes upstream's
        ``labels/<split>.cache`` as training does)."""
        return verify(self.split_paths(split), self.single_cls)

    def _data(self) -> dict[str, Any]:
        data = yaml.safe_load(Path(self.yaml).read_text())
        return data if isinstance(data, dict) else {}


def describe(data_yaml: str | Path, single_cls: bool = False) -> Dataset:
    """The description of a normalised data yaml (``resolve.load`` wrote it; upstream trains on it)."""
    data = yaml.safe_load(Path(data_yaml).read_text())
    names = data.get("names") or []
    names = [names[k] for k in sorted(names)] if isinstance(names, dict) else names
    return Dataset(Path(data_yaml), str(data_yaml), [str(n) for n in names], bool(single_cls))


def list_images(paths: list[Path]) -> list[str]:
    """``LoadImagesAndLabels``' listing: a folder's ``**/*.*`` (recursively), a ``.txt`` list's lines
    (``./x`` relative to the list's folder), kept if the suffix is one of upstream's ``IMG_FORMATS``;
    paths as found (symbolic links not followed), sorted."""
    formats = engine().image_formats()
    found: list[str] = []
    for path in paths:
        if path.is_dir():
            found += glob.glob(str(path / "**" / "*.*"), recursive=True)
        elif path.is_file():
            parent = str(path.parent) + os.sep
            lines = path.read_text().strip().splitlines()
            found += [line.replace("./", parent, 1) if line.startswith("./") else line for line in lines]
        else:
            raise FileNotFoundError(f"{path} does not exist")
    return sorted(f.replace("/", os.sep) for f in found if f.split(".")[-1].lower() in formats)


def label_paths(images: list[str]) -> list[str]:
    """Upstream's ``img2label_paths``: the last ``/images/`` becomes ``/labels/``, suffix ``.txt``."""
    return engine().label_paths(images)


def verify(paths: list[Path], single_cls: bool = False) -> Split:
    """Upstream's loader over ``paths`` (``rect=False``: sorted order); sizes as its ``load_image``
    decodes the images (OpenCV applies EXIF orientation; images without it are not decoded)."""
    from PIL import Image

    loader = engine().read_split([str(p) for p in paths], single_cls)
    sizes = []
    for i, (image, (width, height)) in enumerate(zip(loader.im_files, loader.shapes.tolist())):
        orientation = None
        with contextlib.suppress(Exception), Image.open(image) as im:
            orientation = im.getexif().get(0x0112)
        if orientation not in (None, 1):
            height, width = loader.load_image(i)[1]
        sizes.append((int(width), int(height)))
    kept = set(loader.im_files)
    excluded = [f for f in list_images(paths) if f not in kept]
    return Split(list(loader.im_files), [label.copy() for label in loader.labels], sizes, excluded)
