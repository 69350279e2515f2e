"""Where the pinned upstream package keeps its model yamls, and reading its checkpoints."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any


def upstream_models_dir() -> Path:
    spec = find_spec("yolov5")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the yolov5 package is not installed; run `make install`.")
    return Path(spec.origin).parent / "models"


def model_yaml(cfg: str | Path) -> Path:
    """Resolve ``yolov5s`` / ``yolov5s.yaml`` / ``yolov5s6.yaml`` / a path to an existing file."""
    path = Path(cfg).expanduser()
    if path.is_file():
        return path.resolve()
    name = path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml"
    if path.parent == Path("."):
        models = upstream_models_dir()
        for candidate in (models / name, models / "hub" / name):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(
        f"model yaml '{cfg}' not found; use a name shipped with yolov5 (yolov5n..x, yolov5n6..x6) "
        "or model.cfg=/absolute/path/to/model.yaml."
    )


def load_checkpoint(file: Path) -> Any:
    """The whole pickle of ``file`` (the user named it). Checkpoints pickled by upstream's repo
    name its modules ``models.*``: those resolve to the installed package while loading."""
    import torch

    with _upstream_top_level():
        return torch.load(file, map_location="cpu", weights_only=False)


@contextlib.contextmanager
def _upstream_top_level() -> Iterator[None]:
    """``import models.yolo`` resolves to the installed yolov5 package while inside the block."""
    root = str(upstream_models_dir().parent)
    added = root not in sys.path
    if added:
        sys.path.append(root)
    try:
        yield
    finally:
        if added:
            sys.path.remove(root)
