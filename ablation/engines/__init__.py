"""Engines: one folder per upstream training package (``ablation/engines/<name>/``), the only code
that imports or patches that package.

Every other step reaches an engine through :func:`engine` and the :class:`Engine` interface below,
never by importing the folder (``make lint`` checks it). A config names its engine in its model
group (``model.engine``, default ``yolov5``), so a second engine is one new folder whose
``ENGINE`` object implements this interface, plus its model configs: see ``docs/engines.md``.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from ablation.engines.dialect import Dialect

ENGINES = ("yolov5", "ultralytics")
DEFAULT = "yolov5"


class EngineError(ValueError):
    """An engine name that no folder implements."""


class Engine(Protocol):
    """What the pipeline asks of an upstream training package."""

    name: str
    #: ``train.deterministic`` values the engine understands
    deterministic_modes: tuple[str, ...]
    #: per-epoch metric names the training child reports, the first one is the resume probe
    epoch_keys: tuple[str, ...]
    #: file name of the per-epoch resume checkpoint inside ``<save_dir>/weights``
    resume_checkpoint: str
    #: the package's model yaml dialect: module names and rules the surgery and placements use
    dialect: Dialect

    def setup(self) -> list[str]:
        """Idempotent: patch the package for today's libraries and register our modules with its
        model parser. Returns the registered class names."""
        ...

    def launch_environ(self, also: tuple[str, ...] = ()) -> dict[str, str]:
        """The environment as it was before the package's import changed it (for children)."""
        ...

    # config and plan: the model yaml, hyperparameters, options, building a model
    def model_yaml(self, cfg: str | Path) -> Path:
        """A model name shipped with the package, or a path, as the yaml file it names."""
        ...

    def resolve_hyp(self, name: str | Path) -> Path:
        """A hyperparameter file name or path as the file it names."""
        ...

    def option_errors(self, train: Any) -> str:
        """One sentence naming every bad ``train.*`` option ("" when all are valid)."""
        ...

    def build_model(self, yaml_path: str | Path, nc: int | None = None) -> Any:
        """The ``torch.nn.Module`` the package builds from a model yaml, quietly."""
        ...

    def inference_model(self, yaml_path: str | Path, nc: int | None = None) -> Any:
        """``build_model``'s model as deployment exports it: layers fused (under ``torch.no_grad``),
        eval mode, on the CPU; its forward's first output is the head's decoded predictions."""
        ...

    def quiet(self) -> AbstractContextManager[None]:
        """A block in which building a model logs warnings only."""
        ...

    def load_checkpoint(self, file: Path) -> Any:
        """A checkpoint file as ``torch.load`` returns it, package classes resolvable."""
        ...

    def trusted_checkpoints(self, directory: str | Path) -> AbstractContextManager[None]:
        """A block in which the package may unpickle checkpoints found in ``directory``."""
        ...

    # data: the package's dataset conventions
    def image_formats(self) -> frozenset[str]: ...

    def label_paths(self, images: list[str]) -> list[str]: ...

    def read_split(self, paths: list[str], single_cls: bool) -> Any:
        """The package's own loader over ``paths`` (``im_files``, ``shapes``, ``labels``, ``load_image``)."""
        ...

    # the training child
    def preload(self) -> None:
        """Import what ``train`` needs (a child does it while it waits for its job)."""
        ...

    def train(
        self,
        options: dict[str, Any],
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
        on_note: Callable[[dict[str, str]], None] | None = None,
        observers: dict[str, Callable[..., None]] | None = None,
    ) -> Any:
        """Train with the package's own loop; per-epoch metrics to ``on_epoch``."""
        ...

    # evaluation
    def predict(
        self, dataset: Any, weights: Path, options: dict[str, Any], instances: dict[str, Any], save_dir: Path
    ) -> list[dict[str, Any]]:
        """COCO results of ``weights`` on the val split, with the final validation's settings."""
        ...

    def load_inference_model(self, weights: Path, device: str = "") -> Any:
        """``weights`` as the package loads it for inference, on ``device``."""
        ...


def engine(name: str | None = None) -> Engine:
    """The engine object of ``ablation/engines/<name>`` (``DEFAULT`` for ``None``)."""
    name = name or DEFAULT
    if name not in ENGINES:
        close = difflib.get_close_matches(str(name), ENGINES, n=1)
        hint = f"use model.engine={close[0]}" if close else f"use one of {', '.join(ENGINES)}"
        raise EngineError(f"unknown engine '{name}'; {hint}.")
    return importlib.import_module(f"ablation.engines.{name}").ENGINE


def engine_of(config: Any) -> Engine:
    """The engine a composed config (or a job's options) names in ``model.engine``."""
    model = config.get("model") if hasattr(config, "get") else None
    name = model.get("engine") if hasattr(model, "get") else None
    return engine(name)


def launch_environ(name: str | None = None, also: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment a training child of engine ``name`` starts with: this process's, with what
    ``name``'s package import changed restored (``Engine.launch_environ``), and what any other
    engine loaded here changed too (an ultralytics sweep reads its dataset with the yolov5 engine,
    whose import sets ``OMP_NUM_THREADS``); ``name``'s own restoration wins."""
    current = dict(os.environ)
    env = engine(name).launch_environ(also=also)
    for other in ENGINES:
        if other == (name or DEFAULT) or f"ablation.engines.{other}" not in sys.modules:
            continue  # an engine never loaded here changed nothing
        restored = engine(other).launch_environ()
        for key in set(restored) | set(current):
            if restored.get(key) == current.get(key) or env.get(key) != current.get(key):
                continue
            if key in restored:
                env[key] = restored[key]
            else:
                env.pop(key, None)
    return env


__all__ = ["DEFAULT", "ENGINES", "Dialect", "Engine", "EngineError", "engine", "engine_of", "launch_environ"]
