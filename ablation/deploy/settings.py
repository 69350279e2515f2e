"""``conf/onnx``: the ONNX check of every planned model, before anything trains (``docs/deploy.md``).

Kept apart from the export code so that checking a command line imports neither torch nor onnx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ablation.config.errors import OptionError, as_bool, as_number

STRIDE = 32  # a P5 model's largest stride: the checked size must be a multiple of it
MIN_OPSET, MAX_OPSET = 17, 20  # opsets the TorchScript exporter of torch 2.13 writes (17: ONNX Runtime's oldest tested)


@dataclass(frozen=True)
class OnnxSettings:
    """``conf/onnx/default.yaml``; defaults apply to configs composed without it."""

    enabled: bool = True
    require: bool = False
    imgsz: int = 128
    opset: int = 17
    tolerance: float = 1e-4

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> OnnxSettings:
        """The settings of ``conf/onnx``, checked: ``OptionError`` with one sentence naming the fix."""
        config = config or {}
        unknown = sorted(set(config) - {"enabled", "require", "imgsz", "opset", "tolerance"})
        if unknown:
            raise OptionError(
                f"onnx.{unknown[0]} is not an option; the onnx options are enabled, require, imgsz, opset, tolerance."
            )
        d = cls()
        settings = cls(
            enabled=as_bool("onnx.enabled", config.get("enabled", d.enabled)),
            require=as_bool("onnx.require", config.get("require", d.require)),
            imgsz=as_number("onnx.imgsz", config.get("imgsz", d.imgsz), int, "128"),
            opset=as_number("onnx.opset", config.get("opset", d.opset), int, "17"),
            tolerance=as_number("onnx.tolerance", config.get("tolerance", d.tolerance), float, "1e-4"),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.require and not self.enabled:
            raise OptionError(
                "onnx.require=true needs the check it requires; pass onnx.enabled=true or drop onnx.require."
            )
        if self.imgsz <= 0 or self.imgsz % STRIDE:
            fit = max(STRIDE, round(self.imgsz / STRIDE) * STRIDE)
            raise OptionError(
                f"onnx.imgsz={self.imgsz} must be a positive multiple of the models' stride {STRIDE}; "
                f"the nearest is onnx.imgsz={fit}."
            )
        if not MIN_OPSET <= self.opset <= MAX_OPSET:
            fit = min(max(self.opset, MIN_OPSET), MAX_OPSET)
            raise OptionError(
                f"onnx.opset={self.opset} is outside the opsets checked here ({MIN_OPSET}-{MAX_OPSET}); "
                f"the nearest is onnx.opset={fit}."
            )
        if not 0 < self.tolerance < 1:
            raise OptionError(
                f"onnx.tolerance={self.tolerance} must be a relative difference between 0 and 1; e.g. onnx.tolerance=1e-4."
            )
