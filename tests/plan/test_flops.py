"""GFLOPs of planned models: the layer cache and the skipped shape-only modules give exactly the
count of a plain FlopCounterMode trace of the whole model."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.preflight import build_model
from ablation.plan.preflight.flops import FlopCache, gflops
from ablation.plan.surgery import ModelSpec, Placement, apply

CONFIGS = [
    ("se", {"name": "neck"}),
    ("cbam", {"name": "after_c3"}),
    ("criss_cross", {"name": "before_sppf"}),
    ("eca", {"name": "c3_inside"}),
    ("simam", {"name": "backbone_end"}),
    ("se", {"name": "after_c3"}),
]


def traced(model: nn.Module, imgsz: int) -> float:
    """The definition: one forward pass of the whole model on the meta device, every op seen."""
    meta = copy.deepcopy(model).to("meta").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        meta(torch.empty(1, 3, imgsz, imgsz, device="meta"))
    return counter.get_total_flops() / 1e9


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[nn.Module]:
    out = tmp_path_factory.mktemp("flops")
    base = ModelSpec.load(model_yaml("yolov5n"), YOLOV5)
    built = [build_model(model_yaml("yolov5n"), nc=3)]
    for i, (attention, placement) in enumerate(CONFIGS):
        spec = apply(base, attention, {}, Placement.from_config(placement)).spec
        built.append(build_model(spec.write(out / f"m{i}.yaml"), nc=3))
    return built


def test_cached_counts_equal_the_whole_trace(models: list[nn.Module]) -> None:
    cache = FlopCache()
    for model in models:
        expected = traced(model, 320)
        assert gflops(model, 320) == expected
        assert gflops(model, 320, cache=cache) == expected
    assert cache.hits > 20 * (len(models) - 1)  # most layers repeat across the configs of one model


def test_in_place_moves_the_model_and_keeps_the_count(models: list[nn.Module]) -> None:
    model = copy.deepcopy(models[1])
    expected = traced(model, 256)
    assert gflops(model, 256, in_place=True) == expected
    assert next(model.parameters()).device.type == "meta"


class Repeat(nn.Module):
    """A layer whose cost depends on a plain attribute, not on its parameters."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times, self.conv = times, nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.times):
            x = self.conv(x)
        return x


class Toy(nn.Module):
    def __init__(self, times: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.SiLU(), Repeat(times))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def test_layers_that_differ_only_in_an_attribute_are_counted_apart() -> None:
    cache = FlopCache()
    once, twice = gflops(Toy(1), 32, cache=cache), gflops(Toy(2), 32, cache=cache)
    conv = 2 * 8 * 8 * 9 * 32 * 32 / 1e9
    assert once == pytest.approx(2 * 3 * 8 * 9 * 32 * 32 / 1e9 + conv)
    assert twice == pytest.approx(once + conv)
    assert cache.hits == 3  # the first conv, BatchNorm and SiLU of the second model


@pytest.mark.parametrize("cached", [False, True])
def test_counting_in_place_leaves_later_models_activations_alone(cached: bool) -> None:
    # yolov5's Conv layers share one SiLU (``Conv.default_act``) across every model of the process;
    # the count skips activations, and must not leave that shared one an identity behind it.
    gflops(build_model(model_yaml("yolov5n.yaml"), 2), 64, cache=FlopCache() if cached else None, in_place=True)
    later = build_model(model_yaml("yolov5n.yaml"), 2)
    x = torch.tensor([-1.0, 0.5, 2.0])
    expected = nn.functional.silu(x)
    assert torch.equal(later.model[0].act(x.clone()), expected)  # upstream's SiLU works in place
