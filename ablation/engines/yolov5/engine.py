"""The yolov5 engine object (``ablation.engines.engine("yolov5")``): the ``Engine`` interface
over this folder's modules. Importing it imports neither torch nor upstream."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ablation.engines.dialect import Dialect
from ablation.engines.shared import EngineBase


class YoloV5(EngineBase):
    """The pinned upstream ``yolov5`` package (7.0.14): its model yamls, ``train.py``, ``val.py``."""

    name = "yolov5"

    @property
    def deterministic_modes(self) -> tuple[str, ...]:
        from ablation.engines.yolov5.compat import DETERMINISTIC_MODES

        return DETERMINISTIC_MODES

    @property
    def epoch_keys(self) -> tuple[str, ...]:
        from ablation.engines.yolov5.train import EPOCH_KEYS

        return EPOCH_KEYS

    @property
    def dialect(self) -> Dialect:
        from ablation.engines.yolov5.dialect import YOLOV5

        return YOLOV5

    def _register(self) -> list[str]:
        from ablation.engines.yolov5 import compat

        compat.install()  # before the first upstream import: it records the launch environment
        from ablation.attention import ATTENTION
        from ablation.engines.yolov5.c3_attn import C3Attn
        from ablation.engines.yolov5.registration import register

        return register({**{e.cls.__name__: e.cls for e in ATTENTION}, "C3Attn": C3Attn})

    def launch_environ(self, also: tuple[str, ...] = ()) -> dict[str, str]:
        from ablation.engines.yolov5 import compat

        return compat.launch_environ(also=also)

    def models_dir(self) -> Path:
        from ablation.engines.yolov5.paths import upstream_models_dir

        return upstream_models_dir()

    def model_yaml(self, cfg: str | Path) -> Path:
        from ablation.engines.yolov5.paths import model_yaml

        return model_yaml(cfg)

    def resolve_hyp(self, name: str | Path) -> Path:
        from ablation.engines.yolov5.hyps import resolve_hyp

        return resolve_hyp(str(name))

    def option_errors(self, train: Any) -> str:
        from ablation.engines.yolov5.options import option_errors

        return option_errors(train)

    def build_model(self, yaml_path: str | Path, nc: int | None = None) -> Any:
        from ablation.engines.yolov5.build import build_model

        return build_model(yaml_path, nc)

    def inference_model(self, yaml_path: str | Path, nc: int | None = None) -> Any:
        from ablation.engines.yolov5.build import inference_model

        return inference_model(yaml_path, nc)

    def quiet(self) -> AbstractContextManager[None]:
        from ablation.engines.yolov5.build import quiet_upstream

        return quiet_upstream()

    def load_checkpoint(self, file: Path) -> Any:
        from ablation.engines.yolov5.paths import load_checkpoint

        return load_checkpoint(file)

    def trusted_checkpoints(self, directory: str | Path) -> AbstractContextManager[None]:
        from ablation.engines.yolov5 import compat

        return compat.trusted_checkpoints(directory)

    def image_formats(self) -> frozenset[str]:
        from ablation.engines.yolov5.dataset import IMAGE_FORMATS

        return IMAGE_FORMATS

    def label_paths(self, images: list[str]) -> list[str]:
        from ablation.engines.yolov5.dataset import label_paths

        return label_paths(images)

    def read_split(self, paths: list[str], single_cls: bool) -> Any:
        from ablation.engines.yolov5.dataset import read_split

        return read_split(paths, single_cls)

    def preload(self) -> None:
        from ablation.engines.yolov5.train import preload

        preload()

    def train(
        self,
        options: dict[str, Any],
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
        on_note: Callable[[dict[str, str]], None] | None = None,
        observers: dict[str, Callable[..., None]] | None = None,
    ) -> Any:
        from ablation.engines.yolov5.train import train_upstream

        return train_upstream(options, on_epoch=on_epoch, on_note=on_note, observers=observers)

    def predict(
        self, dataset: Any, weights: Path, options: dict[str, Any], instances: dict[str, Any], save_dir: Path
    ) -> list[dict[str, Any]]:
        from ablation.engines.yolov5.validate import predict

        return predict(dataset, weights, options, instances, save_dir)

    def load_inference_model(self, weights: Path, device: str = "") -> Any:
        from ablation.engines.yolov5.validate import load_inference_model

        return load_inference_model(weights, device)


ENGINE = YoloV5()
