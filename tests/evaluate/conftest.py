"""A tiny generated dataset and an untrained yolov5n checkpoint, as best.pt would be saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablation.data.synthetic import CLASSES, SyntheticSpec, ensure

SPEC = SyntheticSpec(train=1, val=4, imgsz=64, max_objects=2, min_size=10, max_size=30)


@pytest.fixture(scope="session")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """data.yaml of 4 val images of 64 px with 1-2 labelled shapes each."""
    return ensure(tmp_path_factory.mktemp("data"), SPEC)


@pytest.fixture(scope="session")
def best_pt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained yolov5n for the shapes set, saved the way upstream saves best.pt."""
    return save_untrained(tmp_path_factory.mktemp("train"), dict(enumerate(CLASSES)))


@pytest.fixture(scope="session")
def best_pt_single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained one-class yolov5n, as ``train.single_cls=true`` saves best.pt."""
    return save_untrained(tmp_path_factory.mktemp("train-single"), {0: "item"})


def save_untrained(folder: Path, names: dict[int, str]) -> Path:
    import torch

    import ablation

    ablation.setup()
    from yolov5.models.yolo import Model

    from ablation.engines.yolov5.build import quiet_upstream
    from ablation.engines.yolov5.paths import model_yaml

    with quiet_upstream():
        model = Model(str(model_yaml("yolov5n.yaml")), nc=len(names))
    model.nc, model.names = len(names), names  # as train.py sets them
    path = folder / "weights" / "best.pt"
    path.parent.mkdir()
    torch.save({"model": model.half(), "ema": None, "epoch": -1}, path)
    return path
