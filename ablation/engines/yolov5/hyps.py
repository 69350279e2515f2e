"""Hyperparameter files: ours (``ablation/engines/yolov5/hyps``) first, then upstream's ``data/hyps``."""

from __future__ import annotations

from pathlib import Path

from ablation.engines.yolov5.paths import upstream_models_dir

OURS = Path(__file__).resolve().parent / "hyps"


def resolve_hyp(name: str) -> Path:
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    for folder in (OURS, upstream_models_dir().parent / "data" / "hyps"):
        if (folder / path.name).is_file():
            return folder / path.name
    raise FileNotFoundError(f"hyperparameter file '{name}' not found; use a file of yolov5/data/hyps or a path.")
