"""What can change a config's result besides its config: four fingerprints that join its identity.

- ``code``: the source of the attention class the config trains and of every file of our code that
  file imports, transitively (``se.py`` + ``registry.py``; ``gam.py`` + ``_batchnorm.py`` +
  ``registry.py``; ``c3_attn.py`` and what it imports as well for ``c3_inside``). Files are compared
  as syntax trees without docstrings: comments, docstrings and formatting do not run, so a typo
  fix in a paper citation does not retrain a grid, while any change to what executes does.
  The baseline trains no module of ours: its code fingerprint is empty, so every config pairs
  with the same baseline runs.
- ``packages``: the installed versions of the distributions that change training numerics or
  the metrics (``PACKAGES``, plus Python's version); an absent one counts as ``-``, so that
  installing albumentations (upstream augments with it when it is importable) retrains.
- ``data``: the dataset's train and val images as upstream lists them (path relative to the
  dataset root and size) and the content of their label files, plus the class count. Label
  contents are hashed, not their modification times: files rewritten with the same content (a
  fresh clone) keep the fingerprint. The hashes are cached per process by (path, size, mtime),
  so a second expansion of the grid stats the files and reads only the changed ones.
- ``files``: the files the config names by path, as upstream reads them: the model yaml and the
  hyperparameter file (parsed, so comments do not count) and the start checkpoint
  (``train.weights``, its bytes). Editing ``model.cfg=/my/model.yaml`` or overwriting
  ``base.pt`` retrains.

``Fingerprints`` computes them for one expansion of the grid, each dataset listed once.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablation.plan.surgery import BASELINE

ROOT = Path(__file__).resolve().parents[2]  # holds our packages (OURS)
OURS = ("ablation",)
C3_INSIDE = ("c3_inside", "ablation.engines.yolov5.c3_attn")  # the placement that trains C3Attn, and its module
PACKAGES = (
    "torch",
    "torchvision",
    "yolov5",
    "numpy",
    "opencv-python",
    "opencv-python-headless",
    "pillow",
    "scipy",
    "albumentations",
    "pycocotools",
)
ABSENT = "-"
UNREADABLE = "unreadable"  # a dataset that cannot be listed: planning refuses it with its own sentence
KINDS = ("code", "packages", "data", "files")


@dataclass
class Fingerprints:
    """The fingerprints of configs, each dataset listed once per instance (one grid expansion)."""

    datasets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def known(cls, data_cfg: DictConfig, digest: str) -> Fingerprints:
        """Fingerprints that take ``digest`` for this dataset (computed when the config was planned)."""
        return cls({_data_key(data_cfg): digest})

    def of(self, cfg: DictConfig) -> dict[str, str]:
        """``{kind: digest}`` for each of ``KINDS``, for one composed config."""
        attention = str(cfg.attention.name)
        placement = str((cfg.get("placement") or {}).get("name", ""))
        key = _data_key(cfg.data)
        if key not in self.datasets:
            self.datasets[key] = data_fingerprint(cfg.data)
        return {
            "code": code_fingerprint(attention, placement),
            "packages": packages_fingerprint(),
            "data": self.datasets[key],
            "files": files_fingerprint(cfg),
        }


def _data_key(data_cfg: DictConfig) -> str:
    return json.dumps(OmegaConf.to_container(data_cfg, resolve=True), sort_keys=True, default=str)


def code_fingerprint(attention: str, placement: str) -> str:
    """Digest of the files the attention module runs ("" for the baseline; the name itself for a
    name the registry does not know: planning refuses that config)."""
    if attention == BASELINE:
        return ""
    from ablation.attention import ATTENTION

    try:
        module = ATTENTION.get(attention).cls.__module__
    except KeyError:
        return f"unknown:{attention}"
    modules = [module, C3_INSIDE[1]] if placement == C3_INSIDE[0] else [module]
    files = source_files(modules)
    digest = hashlib.sha1()
    for name in sorted(files):
        digest.update(f"{name}:{_code_digest(files[name])}\n".encode())
    return digest.hexdigest()[:10]


def source_files(modules: list[str]) -> dict[str, Path]:
    """``{module name: file}`` of ``modules`` and every module of ours they import, transitively.

    Ours: the packages in ``OURS`` (found under ``ROOT``) and the top-level package of each
    starting module (a plugin's own package). Imports are read from the syntax tree, nothing is
    imported; parent packages' ``__init__`` files are not followed (they register, not compute).
    """
    bases = {name.split(".")[0]: _base(name) for name in modules}
    bases.update({top: ROOT for top in OURS})
    found: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        path = _module_file(name, bases)
        if name in found or path is None:
            continue
        found[name] = path
        todo.extend(_imports(name, path))
    return found


def packages_fingerprint() -> str:
    return hashlib.sha1(json.dumps(package_versions(), sort_keys=True).encode()).hexdigest()[:10]


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Installed version of each of ``PACKAGES`` (``-`` when absent) and of Python; torch's with
    its build (``2.13.0+cu130``: its package metadata leaves the CUDA build out)."""
    import torch

    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = ABSENT
    versions["torch"] = torch.__version__
    return versions


def data_fingerprint(data_cfg: Any) -> str:
    """Digest of the class count, the train and val image lists and their label files' contents;
    ``unreadable`` when the dataset cannot be resolved (planning then says why)."""
    from ablation.data.dataset import label_paths
    from ablation.data.resolve import DataError, resolve

    try:
        with tempfile.TemporaryDirectory(prefix="ablation-fingerprint-") as tmp:
            dataset = resolve(data_cfg, Path(tmp))
            files = {split: dataset.images(split) for split in ("train", "val")}  # upstream's listing (data.dataset)
            prefix = str(dataset.root) + os.sep
    except (DataError, OSError):
        return UNREADABLE
    digest = hashlib.sha1(f"nc={dataset.nc}\n".encode())
    for split, images in files.items():
        for image, labels in zip(images, label_paths(images)):
            name = image[len(prefix) :] if image.startswith(prefix) else image  # a moved copy keeps its digest
            digest.update(f"{split}|{name}|{_size(image)}|{content_digest(labels)}\n".encode())
    return digest.hexdigest()[:10]


def files_fingerprint(cfg: DictConfig) -> str:
    """Digest of the model yaml, the hyperparameter file and the start checkpoint the config names
    (``unreadable`` for one that cannot be read: planning refuses the config with its own sentence)."""
    import yaml

    from ablation.engines import engine_of

    eng = engine_of(cfg)
    train = cfg.get("train") or {}
    parts = {}
    for kind, find in (
        ("model", lambda: eng.model_yaml(str(cfg.model.cfg))),
        ("hyp", lambda: eng.resolve_hyp(str(train.get("hyp")))),
    ):
        try:
            parts[kind] = json.dumps(yaml.safe_load(find().read_text()), sort_keys=True, default=str)
        except (OSError, ValueError, yaml.YAMLError):
            parts[kind] = UNREADABLE
    weights = str(train.get("weights") or "")
    parts["weights"] = content_digest(str(Path(weights).expanduser().resolve())) if weights else ""
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:10]


_contents: dict[str, tuple[int, int, str]] = {}  # file → (size, mtime_ns, content digest)


def content_digest(path: str) -> str:
    """Content digest of a file (``-`` if it does not exist: upstream trains an image without a
    label file as background), cached while its size and modification time stay the same."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return ABSENT
    cached = _contents.get(path)
    if cached is None or cached[:2] != (stat.st_size, stat.st_mtime_ns):
        with open(path, "rb") as f:
            cached = (stat.st_size, stat.st_mtime_ns, hashlib.file_digest(f, "sha1").hexdigest()[:16])
        _contents[path] = cached
    return cached[2]


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return -1


@lru_cache(maxsize=512)
def _parsed(path: Path, size: int, mtime_ns: int) -> tuple[str, list[tuple[int, str, list[str]]]]:
    """The file's code digest (syntax tree without docstrings) and its imports (level, module, names)."""
    tree = ast.parse(path.read_bytes(), str(path))
    imports: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imports.append((node.level, node.module or "", [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            imports.extend((0, a.name, []) for a in node.names)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and _has_docstring(node):
            node.body = node.body[1:] or [ast.Pass()]
    return hashlib.sha1(ast.dump(tree).encode()).hexdigest(), imports


def _code_digest(path: Path) -> str:
    stat = path.stat()
    return _parsed(path, stat.st_size, stat.st_mtime_ns)[0]


def _imports(module: str, path: Path) -> list[str]:
    """Absolute names of the modules ``module`` imports (``from . import x`` may name a module)."""
    stat = path.stat()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for level, target, aliases in _parsed(path, stat.st_size, stat.st_mtime_ns)[1]:
        if level:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - (level - 1)])
            if not target:  # from . import x: x is a module of the package
                names.extend(f"{base}.{alias}" for alias in aliases)
                continue
            target = f"{base}.{target}"
        names.append(target)
        names.extend(f"{target}.{alias}" for alias in aliases if alias != "*")
    return names


def _base(module: str) -> Path:
    """The folder that holds ``module``'s top-level package (a plugin outside ``ROOT``)."""
    loaded = sys.modules.get(module)
    file = Path(getattr(loaded, "__file__", "") or "")
    if not file.name:
        return ROOT
    depth = module.count(".") + (1 if file.name == "__init__.py" else 0)
    return file.resolve().parents[depth]


def _module_file(module: str, bases: dict[str, Path]) -> Path | None:
    """The file of ``module`` if it is one of ours, else None (a package's own ``__init__``
    only when it is imported by name)."""
    base = bases.get(module.split(".")[0])
    if base is None:
        return None
    path = base.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _has_docstring(node: ast.AST) -> bool:
    body = getattr(node, "body", [])
    return (
        bool(body)
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
