"""Upstream validates during training with the fused model in half precision (``half=amp`` on
GPU): every module, placed in a real model, must run that way. Simulated on CPU in float16."""

from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.preflight import build_model
from ablation.plan.surgery import ModelSpec, Placement, apply


@pytest.fixture(scope="module")
def base() -> ModelSpec:
    return ModelSpec.load(model_yaml("yolov5n"), YOLOV5)


# The one exception: MHSA's relative positions cover maps up to 21x21, and upstream builds the model
# with a 256 px pass (32x32 at the neck's stride 8), so planning refuses MHSA in the neck
# (tests/surgery/test_feature_size.py); it is checked where BoTNet puts it, at stride 32.
PLACEMENT = {"mhsa": "before_sppf"}


@pytest.mark.parametrize("name", ATTENTION.names())
def test_fused_half_precision_forward_in_yolov5n(name: str, base: ModelSpec, tmp_path) -> None:
    spec = apply(base, name, {}, Placement.from_config({"name": PLACEMENT.get(name, "neck")})).spec
    model = build_model(spec.write(tmp_path / "m.yaml"), nc=5).eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        reference = model(x)[0]
        half = model.fuse().half()(x.half())[0]
    assert half.dtype == torch.float16 and half.shape == reference.shape
    assert torch.isfinite(half).all()
    # boxes in pixels and confidences: half precision stays within upstream's AMP tolerance
    scale = torch.tensor([96, 64, 96, 64] + [1] * (reference.shape[-1] - 4))
    assert ((half.float() - reference) / scale).abs().max() < 0.1
