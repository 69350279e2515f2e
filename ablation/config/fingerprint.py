"""What can change a config's result besides its config: four fingerprints that join its identity.

- ``code``: the code of ours the config runs to make its numbers, as ``CODE`` maps it: the
  attention class's file and every file of ours it imports, transitively (``se.py`` +
  ``registry.py``; ``gam.py`` + ``_batchnorm.py`` + ``registry.py``), plus the files of each
  scope the config belongs to (the engine interface and the yolov5 engine, the training child,
  dataset reading, evaluation and planning for every config; the surgery for configs with a
  module; ``c3_attn.py`` for ``c3_inside``; the weight transfer for configs that start from
  ``train.weights``; the ultralytics engine's folder for the configs it trains). Files are
  compared as syntax trees without docstrings: comments, docstrings and formatting do not run, so a
  typo fix in a paper citation does not retrain a grid, while any change to what executes does.
  Reporting, tracking, sweep orchestration and the command line are left out: they change no
  number. The baseline runs no module of ours but the common code: every config pairs with the
  same baseline runs, and a change to the engine retrains them too.
- ``packages``: the installed versions of the distributions that change training numerics or
  the metrics (``PACKAGES``, plus Python's version, plus the engine's own package for the configs
  of another engine than yolov5: ``ENGINE_PACKAGES``, ``ultralytics`` for ``engine=ultralytics``); an absent one counts as ``-``, so that
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

``Fingerprints`` computes them for one expansion of the grid, each dataset listed and each
scope's code hashed once.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablation.plan.surgery import BASELINE

ROOT = Path(__file__).resolve().parents[2]  # holds our packages (OURS)
OURS = ("ablation",)
C3_PLACEMENT = "c3_inside"  # the placement that trains C3Attn

# Scopes: which configs run a piece of our code (``code_scopes``).
EVERY = "every"  # every config, the baseline included
ATTENTION = "attention"  # configs with an attention module (the surgery places it)
C3_INSIDE = "c3_inside"  # configs of the c3_inside placement (they train C3Attn)
WEIGHTS = "weights"  # configs that start from a checkpoint (train.weights)
ULTRALYTICS = "ultralytics"  # configs of the ultralytics engine (``model.engine``)
WIDER = "wider"  # wider baselines (model.widen, control=width)
MODULE = "module"  # the config's own attention module and what it imports (``source_files``)
NONE = "none"  # no config: the code changes no number
SCOPES = (EVERY, ATTENTION, C3_INSIDE, WEIGHTS, ULTRALYTICS, WIDER, MODULE, NONE)
# Which configs a change to our code retrains: a module (and its submodules) or, as ``module:a,b``,
# only those top-level definitions of it; the longest matching row decides. A module no other
# row names falls under ``ablation``: every config, until a row says otherwise.
CODE: tuple[tuple[str, str, str], ...] = (
    ("ablation", EVERY, "setup(): the engine's patches and registration"),
    ("ablation.attention", MODULE, "the attention modules and their registry"),
    ("ablation.engines", EVERY, "the engine interface and adapter: training, patches, registration, building, options"),
    ("ablation.engines.dialect", EVERY, "the model yaml dialect: how the surgery reads every yaml's module names"),
    (
        "ablation.engines.yolov5.dialect",
        EVERY,
        "YOLOv5's module names and width rule: every yaml read, widths, placements",
    ),
    ("ablation.engines.yolov5.c3_attn", C3_INSIDE, "C3Attn, which only c3_inside yamls name"),
    (
        "ablation.engines.ultralytics",
        ULTRALYTICS,
        "the ultralytics engine: settings, registration, model names, options, training, validation",
    ),
    ("ablation.data", EVERY, "the dataset: image lists, labels, class count, synthetic sets"),
    ("ablation.evaluate", EVERY, "COCO metrics, latency, the final validation's detections and their records"),
    ("ablation.plan", EVERY, "the planner (each job's yaml and start checkpoint), preflight (params, GFLOPs)"),
    ("ablation.plan.surgery", ATTENTION, "placing a module: inserting, rewriting indices and channels"),
    ("ablation.plan.surgery.graph", EVERY, "reading the base yaml and writing every planned yaml, the baseline's"),
    ("ablation.plan.surgery.widen", WIDER, "widening a baseline: the wider baselines' widths (model.widen)"),
    (
        "ablation.plan.control",
        NONE,
        "control=width: which wider baselines a grid gets (each one's model.widen is hashed)",
    ),
    ("ablation.plan.surgery.weights", WEIGHTS, "the start checkpoint through the index map, the baseline's too"),
    ("ablation.plan.surgery.feature_size", NONE, "refuses configs whose maps are too large; writes nothing"),
    ("ablation.plan.preflight.pool", NONE, "runs preflight in worker processes"),
    ("ablation.plan.__main__", NONE, "the command line"),
    ("ablation.job.child:upstream_options", EVERY, "conf/train as the engine's training options"),
    ("ablation.job", NONE, "claims, MLflow bookkeeping, the job's process"),
    ("ablation.train.worker:train", EVERY, "the training child: threads, training, evaluation of best.pt"),
    ("ablation.train", NONE, "the child's process: isolation, device leases, stdin handoff"),
    ("ablation.config", NONE, "composition and identity: what they decide is the hashed config"),
    ("ablation.sweep", NONE, "sweep orchestration"),
    ("ablation.track", NONE, "tracking"),
    ("ablation.report", NONE, "reporting"),
    ("ablation.__main__", NONE, "the command line"),
    ("ablation.run", NONE, "the command line"),
    ("ablation.export", NONE, "the command line"),
)
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
    # the deployed latencies: the export and the two runtimes (``ablation.deploy.runtimes``)
    "onnx",
    "onnxruntime",
    "openvino",
)
# The training package of each engine beyond ``PACKAGES`` (which every config needs: the dataset is
# read with the default engine's package), for the configs of that engine only.
ENGINE_PACKAGES: dict[str, tuple[str, ...]] = {"ultralytics": ("ultralytics",)}
ABSENT = "-"
UNKNOWN = "unknown:"  # a module the registry does not know: planning refuses it
UNREADABLE = "unreadable"  # a dataset that cannot be listed: planning refuses it with its own sentence
KINDS = ("code", "packages", "data", "files")


@dataclass
class Fingerprints:
    """The fingerprints of configs, each dataset listed and each scope's code hashed once per
    instance (one grid expansion)."""

    datasets: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)  # "<digest function>:<name>" → digest
    files: dict[str, str] = field(default_factory=dict)  # the files a config names (``_files_key``) → digest

    @classmethod
    def known(cls, data_cfg: DictConfig, digest: str) -> Fingerprints:
        """Fingerprints that take ``digest`` for this dataset (computed when the config was planned)."""
        return cls({_data_key(data_cfg): digest})

    def of(self, cfg: DictConfig) -> dict[str, str]:
        """``{kind: digest}`` for each of ``KINDS``, for one composed config."""
        key = _data_key(cfg.data)
        if key not in self.datasets:
            self.datasets[key] = data_fingerprint(cfg.data)
        return {
            "code": self.code(cfg),
            "packages": packages_fingerprint(engine_name(cfg)),
            "data": self.datasets[key],
            "files": self._files(cfg),
        }

    def _files(self, cfg: DictConfig) -> str:
        key = _files_key(cfg)
        if key not in self.files:
            self.files[key] = files_fingerprint(cfg)
        return self.files[key]

    def code(self, cfg: DictConfig) -> str:
        """Digest of the code of ours the config runs: its attention module's files and the files
        of each of its ``code_scopes`` (the name itself for a module the registry does not know:
        planning refuses that config)."""
        attention = str(cfg.attention.name)
        parts = [f"{scope}:{self._once(scope_digest, scope)}" for scope in code_scopes(cfg)]
        if attention != BASELINE:
            module = self._once(module_digest, attention)
            if module.startswith(UNKNOWN):
                return module
            parts.append(f"{MODULE}:{module}")
        return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:10]

    def _once(self, digest: Callable[[str], str], name: str) -> str:
        key = f"{digest.__name__}:{name}"
        if key not in self.codes:
            self.codes[key] = digest(name)
        return self.codes[key]


def _files_key(cfg: DictConfig) -> str:
    """What ``files_fingerprint`` reads: the engine, model yaml, hyperparameter file and checkpoint named."""
    train = cfg.get("train") or {}
    model = cfg.get("model") or {}
    return json.dumps(
        [str(model.get("engine")), str(model.get("cfg")), str(train.get("hyp")), str(train.get("weights"))]
    )


def _data_key(data_cfg: DictConfig) -> str:
    return json.dumps(OmegaConf.to_container(data_cfg, resolve=True), sort_keys=True, default=str)


def code_scopes(cfg: DictConfig) -> list[str]:
    """The scopes of ``CODE`` whose code the config runs (``MODULE`` aside)."""
    scopes = [EVERY]
    if str(cfg.attention.name) != BASELINE:
        scopes.append(ATTENTION)
        if str((cfg.get("placement") or {}).get("name", "")) == C3_PLACEMENT:
            scopes.append(C3_INSIDE)
    if (cfg.get("train") or {}).get("weights"):
        scopes.append(WEIGHTS)
    if engine_name(cfg) == ULTRALYTICS:  # the yolov5 engine's code runs for every config (it reads the data)
        scopes.append(ULTRALYTICS)
    if (cfg.get("model") or {}).get("widen") is not None:
        scopes.append(WIDER)
    return scopes


def module_digest(attention: str) -> str:
    """Digest of the files of the registered attention module ``attention`` (``source_files``)."""
    from ablation.attention import ATTENTION as REGISTRY

    try:
        module = REGISTRY.get(attention).cls.__module__
    except KeyError:
        return f"{UNKNOWN}{attention}"
    return _digest({name: _code_digest(path) for name, path in source_files([module]).items()})


def scope_digest(scope: str) -> str:
    """Digest of the code ``CODE`` maps to ``scope``, read under ``ROOT`` now."""
    return _digest({unit: digest for unit, (row_scope, digest) in code_table().items() if row_scope == scope})


def code_table() -> dict[str, tuple[str, str]]:
    """``{module, or module:definitions: (scope, code digest)}`` for every module of ours under
    ``ROOT``, each placed by the longest row of ``CODE`` that matches it (the digest is "" for
    ``NONE`` and ``MODULE``: not read here)."""
    table = {}
    for top in OURS:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            row, scope = _row(module)
            _, _, names = row.partition(":")
            if scope in (NONE, MODULE):
                table[module] = (scope, "")
            elif not names:
                table[module] = (scope, _code_digest(path))
            else:
                definitions = _parsed(path, *_stat(path))[2]
                digests = [f"{name}={definitions.get(name, ABSENT)}" for name in names.split(",")]
                table[f"{module}:{names}"] = (scope, hashlib.sha1(" ".join(digests).encode()).hexdigest())
    return table


def _row(module: str) -> tuple[str, str]:
    """The longest row of ``CODE`` whose module is ``module`` or a package above it: (row, scope)."""
    rows = [(key, scope) for key, scope, _ in CODE if module == key.partition(":")[0] or module.startswith(f"{key}.")]
    return max(rows, key=lambda row: len(row[0].partition(":")[0]), default=(module, EVERY))


def _digest(digests: dict[str, str]) -> str:
    lines = "".join(f"{name}:{digests[name]}\n" for name in sorted(digests))
    return hashlib.sha1(lines.encode()).hexdigest()[:10]


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


def engine_name(cfg: Any) -> str:
    """The engine a config trains with (``model.engine``, default ``yolov5``)."""
    from ablation.engines import engine_of

    return engine_of(cfg).name


def packages_fingerprint(engine: str | None = None) -> str:
    return hashlib.sha1(json.dumps(package_versions(engine), sort_keys=True).encode()).hexdigest()[:10]


@lru_cache(maxsize=8)
def package_versions(engine: str | None = None) -> dict[str, str]:
    """Installed version of each of ``PACKAGES`` and of ``engine``'s ``ENGINE_PACKAGES`` (``-`` when
    absent) and of Python; torch's with its build (``2.13.0+cu130``: its package metadata leaves
    the CUDA build out)."""
    import torch

    versions = {"python": platform.python_version()}
    for name in (*PACKAGES, *ENGINE_PACKAGES.get(engine or "", ())):
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
def _parsed(path: Path, size: int, mtime_ns: int) -> tuple[str, list[tuple[int, str, list[str]]], dict[str, str]]:
    """The file's code digest (syntax tree without docstrings), its imports (level, module, names)
    and the digest of each top-level definition (function, class, assigned name)."""
    tree = ast.parse(path.read_bytes(), str(path))
    imports: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imports.append((node.level, node.module or "", [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            imports.extend((0, a.name, []) for a in node.names)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and _has_docstring(node):
            node.body = node.body[1:] or [ast.Pass()]
    definitions = {name: _tree_digest(node) for node in tree.body for name in _defined(node)}
    return _tree_digest(tree), imports, definitions


def _tree_digest(node: ast.AST) -> str:
    return hashlib.sha1(ast.dump(node).encode()).hexdigest()


def _defined(node: ast.stmt) -> list[str]:
    """The names a top-level statement defines."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return [target.id for target in targets if isinstance(target, ast.Name)]


def _stat(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _code_digest(path: Path) -> str:
    return _parsed(path, *_stat(path))[0]


def _imports(module: str, path: Path) -> list[str]:
    """Absolute names of the modules ``module`` imports (``from . import x`` may name a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for level, target, aliases in _parsed(path, *_stat(path))[1]:
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
