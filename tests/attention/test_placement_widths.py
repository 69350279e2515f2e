"""Every module builds and trains at every width a placement gives it on yolov5n and yolov5s.

Building the models themselves for every module is the plan test in
``tests/test_plan_command.py``; here the widths come from the surgery (the channel argument it
writes for an inserted module, the C3 widths for ``c3_inside``) and each module is built at each
of them and takes a training step on a small map: the same constructor calls, without the
models. Still ~1 s of CPU per module (a new oneDNN kernel per shape), so it is slow; the fast
property tests build every module at 16, 64 and 96 channels.
"""

from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.surgery import ModelSpec, Placement, apply
from ablation.plan.surgery.channels import output_channels


def placement_widths(model: str) -> set[int]:
    base = ModelSpec.load(model_yaml(model), YOLOV5)
    widths: set[int] = set()
    for kind in ("backbone_end", "before_sppf", "after_c3", "neck"):
        result = apply(base, "se", {}, Placement.from_config({"name": kind}))
        widths |= {result.spec.layers[i].args[0] for i in result.inserted}
    spec = apply(base, "se", {}, Placement.from_config({"name": "c3_inside"})).spec
    out = output_channels(spec)
    for i, layer in enumerate(spec.layers):
        if layer.module == "C3Attn":  # bottleneck_in: c2/2; skip_in: its input; concat: c2
            widths |= {out[i] // 2, out[layer.sources(i)[0]], out[i]}
    return widths


WIDTHS = sorted(placement_widths("yolov5n") | placement_widths("yolov5s"))


def test_the_widths_are_those_of_yolov5n_and_yolov5s() -> None:
    assert WIDTHS == [16, 32, 64, 128, 256, 512]


@pytest.mark.slow
@pytest.mark.parametrize("name", ATTENTION.names())
def test_builds_and_trains_at_every_placement_width(name: str) -> None:
    for channels in WIDTHS:
        m = ATTENTION.build(name, channels).train()
        x = torch.randn(2, channels, 4, 6, requires_grad=True)
        y = m(x)
        assert y.shape == x.shape, f"{name} at {channels} channels"
        y.square().mean().backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0, f"{name} at {channels} channels"
