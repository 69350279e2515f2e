"""Index correctness, functionally: inserting an identity module must not change the network.

A ``Probe`` (identity that asserts its channel argument equals the real input width) is placed
everywhere a placement allows; with the base weights carried over by the index map, the new
model must compute exactly what the base model computes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ablation.attention import ATTENTION, Entry
from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.preflight import build_model
from ablation.plan.surgery import ModelSpec, Placement, apply
from ablation.plan.surgery.weights import carry_state_dict


class Probe(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1] == self.channels, f"Probe built for {self.channels} channels got {x.shape[1]}"
        return x


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> str:
    import yolov5.models.yolo as yolo

    monkeypatch.setitem(ATTENTION._entries, "probe", Entry("probe", Probe, "test identity"))
    monkeypatch.setattr(yolo, "Probe", Probe, raising=False)
    return "probe"


PLACEMENTS = [
    {"name": "backbone_end"},
    {"name": "before_sppf"},
    {"name": "after_c3"},
    {"name": "neck"},
    {"name": "neck", "scales": ["P3", "P5"]},
    {"name": "c3_inside", "point": "bottleneck_in", "scope": "all"},
    {"name": "c3_inside", "point": "skip_in", "scope": "backbone"},
    {"name": "c3_inside", "point": "concat", "scope": "neck"},
    {"name": "custom", "after": [0, 5, 12, 13]},
]


@pytest.mark.parametrize("placement", PLACEMENTS, ids=lambda p: Placement.from_config(p).label)
@pytest.mark.parametrize("model", ["yolov5n", "yolov5s6"])
def test_identity_insertion_preserves_the_network(model: str, placement: dict, probe: str, tmp_path: Path) -> None:
    base_path = model_yaml(model)
    result = apply(ModelSpec.load(base_path, YOLOV5), probe, {}, Placement.from_config(placement))
    new_path = result.spec.write(tmp_path / "new.yaml")
    torch.manual_seed(0)
    base, new = build_model(base_path).eval(), build_model(new_path).eval()
    new.load_state_dict(carry_state_dict(base.state_dict(), result.index_map), strict=True)
    x = torch.rand(1, 3, 64, 128)  # non-square; multiples of the P6 stride
    with torch.no_grad():
        torch.testing.assert_close(new(x)[0], base(x)[0], rtol=0, atol=0)
    assert len(new.model) == len(base.model) + len(result.inserted)


# Fast: the sizes the identity test above does not build (yolov5n and yolov5s6 run there), so
# both widths and both heads are built here too; the rest only take longer.
FAST_SIZES = ("yolov5s", "yolov5n6")
SIZES = [
    pytest.param(f"yolov5{s}{p}", marks=[] if f"yolov5{s}{p}" in FAST_SIZES else [pytest.mark.slow])
    for p in ("", "6")
    for s in "nsmlx"
]


@pytest.mark.parametrize("model", SIZES)
def test_every_size_builds_with_real_channels(model: str, probe: str, tmp_path: Path) -> None:
    """Upstream's Model runs a forward pass while building: every Probe checks its width then."""
    base = ModelSpec.load(model_yaml(model), YOLOV5)
    for placement in PLACEMENTS:
        result = apply(base, probe, {}, Placement.from_config(placement))
        built = build_model(result.spec.write(tmp_path / "m.yaml"))
        probes = [m for m in built.modules() if isinstance(m, Probe)]
        assert len(probes) == len(result.inserted) or placement["name"] == "c3_inside"
        assert probes, placement
