"""``conf/evaluate``: what is measured after training, and the values ``measure_latency`` can take.

Kept apart from the package's functions so that checking a command line (``ablation.config.checks``)
imports neither an engine nor torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ablation.config.errors import OptionError, as_bool, as_number
from ablation.track.schema import ONNXRUNTIME, OPENVINO, Runtime

STRIDE = 32  # a P5 model's largest stride: the latency input must be a multiple of it (P6: 64, checked when measured)


@dataclass(frozen=True)
class Settings:
    """``conf/evaluate/default.yaml``; defaults apply to jobs written without it."""

    coco: bool = True
    latency: bool = True
    latency_imgsz: int = 640
    latency_warmup: int = 5
    latency_repeats: int = 30
    latency_onnxruntime: bool = True  # also best.pt exported to ONNX, timed in ONNX Runtime on the CPU
    latency_openvino: bool = True  # and the same ONNX file timed in OpenVINO on the CPU

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> Settings:
        """The settings of ``conf/evaluate``, checked (``check``): ``OptionError`` with one sentence."""
        config = config or {}
        latency = config.get("latency") or {}
        defaults = cls()
        key = "evaluate.latency"
        settings = cls(
            coco=as_bool("evaluate.coco", config.get("coco", defaults.coco)),
            latency=as_bool(f"{key}.enabled", latency.get("enabled", defaults.latency)),
            latency_imgsz=as_number(f"{key}.imgsz", latency.get("imgsz", defaults.latency_imgsz), int, "640"),
            latency_warmup=as_number(f"{key}.warmup", latency.get("warmup", defaults.latency_warmup), int, "5"),
            latency_repeats=as_number(f"{key}.repeats", latency.get("repeats", defaults.latency_repeats), int, "30"),
            latency_onnxruntime=as_bool(f"{key}.onnxruntime", latency.get("onnxruntime", defaults.latency_onnxruntime)),
            latency_openvino=as_bool(f"{key}.openvino", latency.get("openvino", defaults.latency_openvino)),
        )
        settings.check()
        return settings

    def deployed(self) -> tuple[Runtime, ...]:
        """The runtimes best.pt's ONNX export is timed in (none when latency is off)."""
        if not self.latency:
            return ()
        chosen = ((ONNXRUNTIME, self.latency_onnxruntime), (OPENVINO, self.latency_openvino))
        return tuple(runtime for runtime, on in chosen if on)

    def check(self) -> None:
        """Latency settings ``measure_latency`` cannot run with, as one sentence naming the fix."""
        if not self.latency:
            return
        if self.latency_imgsz <= 0 or self.latency_imgsz % STRIDE:
            fit = max(STRIDE, round(self.latency_imgsz / STRIDE) * STRIDE)
            raise OptionError(
                f"evaluate.latency.imgsz={self.latency_imgsz} must be a positive multiple of the models' "
                f"stride {STRIDE}; the nearest is evaluate.latency.imgsz={fit}."
            )
        if self.latency_warmup < 0:
            raise OptionError(
                f"evaluate.latency.warmup={self.latency_warmup} must be 0 or more; e.g. evaluate.latency.warmup=5."
            )
        if self.latency_repeats < 1:
            raise OptionError(
                f"evaluate.latency.repeats={self.latency_repeats} must be at least 1; e.g. evaluate.latency.repeats=30."
            )
