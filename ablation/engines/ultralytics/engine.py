"""The ultralytics engine object (``ablation.engines.engine("ultralytics")``): the ``Engine``
interface over this folder's modules. Importing it imports neither torch nor the package."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ablation.engines.dialect import Dialect
from ablation.engines.shared import EngineBase


class Ultralytics(EngineBase):
    """The pinned ``ultralytics`` package (8.4.190): YOLOv8, YOLO11, YOLO26 detection models and
    its ``DetectionTrainer``."""

    name = "ultralytics"

    @property
    def deterministic_modes(self) -> tuple[str, ...]:
        from ablation.engines.ultralytics.options import DETERMINISTIC_MODES

        return DETERMINISTIC_MODES

    @property
    def epoch_keys(self) -> tuple[str, ...]:
        from ablation.engines.ultralytics.train import EPOCH_KEYS

        return EPOCH_KEYS

    @property
    def dialect(self) -> Dialect:
        from ablation.engines.ultralytics.dialect import ULTRALYTICS

        return ULTRALYTICS

    def _register(self) -> list[str]:
        from ablation.engines.ultralytics import offline

        offline.install()  # before the package's first import: its config folder, settings, fonts
        from ablation.attention import ATTENTION
        from ablation.engines.ultralytics.csp_attn import BLOCKS
        from ablation.engines.ultralytics.dialect import ULTRALYTICS
        from ablation.engines.ultralytics.registration import install_blocks, register

        registered = register({**{e.cls.__name__: e.cls for e in ATTENTION}, **BLOCKS})
        install_blocks(BLOCKS, ULTRALYTICS)
        return registered

    def launch_environ(self, also: tuple[str, ...] = ()) -> dict[str, str]:
        from ablation.engines.ultralytics import offline

        return offline.launch_environ(also=also)

    def model_yaml(self, cfg: str | Path) -> Path:
        from ablation.engines.ultralytics.models import model_yaml

        return model_yaml(cfg)

    def resolve_hyp(self, name: str | Path) -> Path:
        from ablation.engines.ultralytics.options import resolve_hyp

        return resolve_hyp(name)

    def option_errors(self, train: Any) -> str:
        from ablation.engines.ultralytics.options import option_errors

        return option_errors(train)

    def build_model(self, yaml_path: str | Path, nc: int | None = None) -> Any:
        from ablation.engines.ultralytics.models import build_model

        return build_model(yaml_path, nc)

    def inference_model(self, yaml_path: str | Path, nc: int | None = None) -> Any:
        from ablation.engines.ultralytics.models import inference_model

        return inference_model(yaml_path, nc)

    def quiet(self) -> AbstractContextManager[None]:
        from ablation.engines.ultralytics.models import quiet

        return quiet()

    def load_checkpoint(self, file: Path) -> Any:
        from ablation.engines.ultralytics.models import load_checkpoint

        return load_checkpoint(file)

    def trusted_checkpoints(self, directory: str | Path) -> AbstractContextManager[None]:
        return contextlib.nullcontext()  # the package loads its checkpoints with weights_only=False itself

    def image_formats(self) -> frozenset[str]:
        self.setup()
        from ultralytics.data.utils import IMG_FORMATS

        return frozenset(IMG_FORMATS)

    def label_paths(self, images: list[str]) -> list[str]:
        self.setup()
        from ultralytics.data.utils import img2label_paths

        return list(img2label_paths(images))

    def read_split(self, paths: list[str], single_cls: bool) -> Any:
        raise NotImplementedError("the ultralytics engine does not read datasets for planning yet")

    def preload(self) -> None:
        from ablation.engines.ultralytics.train import preload

        preload()

    def train(
        self,
        options: dict[str, Any],
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
        on_note: Callable[[dict[str, str]], None] | None = None,
        observers: dict[str, Callable[..., None]] | None = None,
    ) -> Any:
        from ablation.engines.ultralytics.train import train_ultralytics

        return train_ultralytics(options, on_epoch=on_epoch, on_note=on_note, observers=observers)

    def predict(
        self, dataset: Any, weights: Path, options: dict[str, Any], instances: dict[str, Any], save_dir: Path
    ) -> list[dict[str, Any]]:
        from ablation.engines.ultralytics.validate import predict

        return predict(dataset, weights, options, instances, save_dir)

    def load_inference_model(self, weights: Path, device: str = "") -> Any:
        from ablation.engines.ultralytics.models import load_inference_model

        return load_inference_model(weights, device)


ENGINE = Ultralytics()
