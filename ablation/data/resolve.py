"""Data config → a validated upstream data yaml, before any training starts.

Any YOLO-format dataset works (COCO, VOC, custom). Relative ``train``/``val`` paths are resolved
against the yaml's ``path`` key or, without one, the yaml's own folder (what people expect;
upstream would resolve them against its package folder). We write a normalised copy with
absolute paths, symbolic links resolved as upstream's ``check_dataset`` resolves them, and
describe it (``dataset.Dataset``). Every problem is one sentence naming the fix.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from ablation.data.dataset import Dataset, label_paths, list_images


class DataError(ValueError):
    """The dataset cannot be used for training."""


def resolve(cfg: Any, workdir: Path, single_cls: bool = False) -> Dataset:
    """``cfg`` is the ``data`` config group; returns the dataset upstream will read
    (``single_cls``: ``train.single_cls``, one class in the head)."""
    return _resolve(cfg, workdir).with_single_cls(single_cls)


def _resolve(cfg: Any, workdir: Path) -> Dataset:
    if cfg.get("path"):
        return load(Path(str(cfg.path)).expanduser(), workdir)
    from ablation.data.synthetic import SyntheticSpec, ensure

    fields = ("train", "val", "imgsz", "seed", "max_objects", "min_size", "max_size")
    spec = SyntheticSpec(**{k: int(cfg[k]) for k in fields if cfg.get(k) is not None})
    source = ensure(Path(str(cfg.root)).expanduser(), spec)
    return replace(load(source, workdir), source="synthetic")


def load(path: Path, workdir: Path) -> Dataset:
    if not path.is_file():
        raise DataError(f"data yaml {path} does not exist; pass data.path=/absolute/path/to/data.yaml.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise DataError(f"data yaml {path} is not valid YAML ({str(err).splitlines()[0]}).") from None
    if not isinstance(data, dict):
        raise DataError(f"data yaml {path} must be a mapping with train, val and names keys.")
    names = _names(data, path)
    root = (path.parent / Path(str(data.get("path") or path.parent)).expanduser()).resolve()
    resolved = dict(data)
    resolved["path"] = str(root)
    for split in ("train", "val", "test"):
        if split not in data or data[split] in (None, ""):
            if split == "test":
                continue
            raise DataError(
                f"data yaml {path} has no '{split}' entry; add '{split}: images/{split}' (relative to its path)."
            )
        resolved[split] = _split_paths(data[split], root, split, path)
    resolved["nc"], resolved["names"] = len(names), names
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "data.yaml"
    out.write_text(f"# normalised from {path}\n" + yaml.safe_dump(resolved, sort_keys=False))
    return Dataset(out, str(path), names)


def _names(data: dict[str, Any], path: Path) -> list[str]:
    names = data.get("names")
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    if not isinstance(names, list) or not names:
        raise DataError(f"data yaml {path} has no class 'names' list; add names: [class0, class1, ...].")
    nc = data.get("nc")
    if nc is not None and int(nc) != len(names):
        raise DataError(f"data yaml {path} says nc: {nc} but lists {len(names)} names; make them agree.")
    return [str(n) for n in names]


def _split_paths(entry: Any, root: Path, split: str, source: Path) -> str | list[str]:
    entries = entry if isinstance(entry, list) else [entry]
    out = []
    for item in entries:
        p = (root / Path(str(item)).expanduser()).resolve()  # as check_dataset: links followed
        if not p.exists():
            raise DataError(
                f"data yaml {source}: {split} path {p} does not exist; fix '{split}:' or the yaml's 'path:'."
            )
        images = list_images([p])
        if not images:
            raise DataError(f"data yaml {source}: {split} {'folder' if p.is_dir() else 'list'} {p} contains no images.")
        labels = label_paths(images)
        if split != "test" and not any(os.path.isfile(f) for f in labels):
            raise DataError(
                f"data yaml {source}: no labels for {p}; YOLO format keeps them in {Path(labels[0]).parent} (one .txt per image)."
            )
        out.append(str(p))
    return out if isinstance(entry, list) else out[0]
