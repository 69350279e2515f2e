"""Model names, yamls, building and checkpoints of the pinned ultralytics package.

The package ships one yaml per family (``yolo11.yaml``) with a ``scales:`` table; the scale
letter of a name (``yolo11n``) selects the row. Loading a yaml *path* makes ultralytics take the
scale from the file name, overriding a ``scale:`` key written inside the file, so a planned
``se-neck.yaml`` would build the wrong size. We always build from a dict: ``model_yaml`` writes
the package's yaml with its ``scale:`` key, and ``model_dict`` keeps a file's own ``scale:`` (the
file name decides only when there is none).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

# family name → folder of cfg/models; the scale letter follows the family (yolo11n, yolov8s, yolo26x)
FAMILIES = {"yolov3": "v3", "yolov5": "v5", "yolov6": "v6", "yolov8": "v8", "yolov9": "v9", "yolov10": "v10",
            "yolo11": "11", "yolo12": "12", "yolo26": "26"}  # fmt: skip
NAME = re.compile(r"^(?P<family>yolov?\d+)(?P<scale>[nslmxtcbe])(?P<rest>(-[\w-]+)?)$")


def package_dir() -> Path:
    spec = find_spec("ultralytics")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the ultralytics package is not installed; run `make install`.")
    return Path(spec.origin).parent


def model_yaml(cfg: str | Path) -> Path:
    """``yolo11n`` / ``yolov8s.yaml`` / ``yolo26n`` / a path, as an existing yaml file.

    A shipped name is written once (per package version) to a cache folder as the package's own
    yaml text with ``scale: <letter>`` added, so that every step reads the size it names.
    """
    path = Path(cfg).expanduser()
    if path.is_file():
        return path.resolve()
    stem = path.name[: -len(path.suffix)] if path.suffix in (".yaml", ".yml") else path.name
    match = NAME.match(stem)
    if path.parent == Path(".") and match and match["family"] in FAMILIES:
        source = package_dir() / "cfg" / "models" / FAMILIES[match["family"]]
        source = source / f"{match['family']}{match['rest']}.yaml"
        if source.is_file():
            return _with_scale(source, stem, match["scale"])
    raise FileNotFoundError(
        f"model yaml '{cfg}' not found; use a name shipped with ultralytics (yolov8n..x, yolo11n..x, "
        "yolo26n..x) or model.cfg=/absolute/path/to/model.yaml."
    )


def _with_scale(source: Path, stem: str, scale: str) -> Path:
    import ultralytics

    text = source.read_text()
    if not re.search(r"^scale:", text, re.M):
        text = f"{text.rstrip()}\n\nscale: {scale}  # added by ablation: the scale the name {stem} selects\n"
    folder = Path(tempfile.gettempdir()) / f"ablation-ultralytics-models-{os.getuid()}" / ultralytics.__version__
    target = folder / f"{stem}.yaml"
    if not target.is_file() or target.read_text() != text:
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(text)
        os.replace(partial, target)
    return target


def model_dict(yaml_path: str | Path) -> dict[str, Any]:
    """The model dict of a yaml file, with the scale it builds: its own ``scale:`` key, else the
    letter in its file name (ultralytics' rule); a multi-scale yaml with neither is refused."""
    import yaml
    from ultralytics.nn.tasks import guess_model_scale

    path = Path(yaml_path)
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a model yaml (a mapping with backbone and head).")
    if data.get("scales") and not data.get("scale"):
        data["scale"] = guess_model_scale(path)
        if data["scale"] not in data["scales"]:
            raise ValueError(
                f"{path} has scales {', '.join(data['scales'])} but names none: add `scale: n` to the yaml "
                "or keep the scale in its name (yolo11n-...)."
            )
    data.setdefault("yaml_file", str(path))
    return data


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Warnings only from the package's logger inside the block."""
    logger = logging.getLogger("ultralytics")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_model(yaml_path: str | Path, nc: int | None = None) -> Any:
    """The package's own ``DetectionModel`` of a yaml, our modules registered, quietly."""
    from ablation.engines.ultralytics.engine import ENGINE

    ENGINE.setup()
    from ultralytics.nn.tasks import DetectionModel

    with quiet():
        return DetectionModel(model_dict(yaml_path), ch=3, nc=nc, verbose=False)


def inference_model(yaml_path: str | Path, nc: int | None = None) -> Any:
    """``build_model``'s model with its layers fused (under ``no_grad``, so the fused weights stay
    leaf tensors) and in eval mode, as the package's exporter prepares it."""
    import torch

    model = build_model(yaml_path, nc)
    with quiet(), torch.no_grad():
        model.fuse(verbose=False)
    return model.eval()


def load_checkpoint(file: Path) -> Any:
    """The whole pickle of ``file`` (the package's checkpoints pickle whole models)."""
    from ablation.engines.ultralytics.engine import ENGINE

    ENGINE.setup()  # our classes importable by the module path they were pickled with
    from ultralytics.utils.patches import torch_load

    return torch_load(file, map_location="cpu", weights_only=False)


def load_inference_model(weights: Path, device: str = "") -> Any:
    """best.pt as the package loads it for inference (its EMA weights, fused, eval mode), on
    ``device`` (the package's device string); half precision on CUDA, as the yolov5 engine."""
    from ablation.engines.ultralytics.engine import ENGINE

    ENGINE.setup()
    from ultralytics.nn.tasks import load_checkpoint as load_weights
    from ultralytics.utils.torch_utils import select_device

    target = select_device(device, verbose=False)
    with quiet():
        model, _ = load_weights(str(weights), device=target, fuse=True)
    return model.half() if target.type == "cuda" else model
