"""The surgery knows no module name: a yaml in another dialect places and sizes alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from ablation.engines import Dialect, engine
from ablation.engines.dialect import AttentionHost, Multiples
from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.surgery import ModelSpec, Placement, PlacementError, apply
from ablation.plan.surgery.channels import output_channels
from ablation.plan.surgery.feature_size import layer_strides

NAMES = {"C3": "Csp", "SPPF": "Pool", "Concat": "Join", "Detect": "Head", "Conv": "Cv", "nn.Upsample": "Up"}
PLACEMENTS = [{"name": n} for n in ("backbone_end", "before_sppf", "after_c3", "neck")] + [
    {"name": "c3_inside", "scope": "neck", "point": "concat"}
]


def renamed(data: dict[str, Any]) -> dict[str, Any]:
    rows = {s: [[f, n, NAMES.get(m, m), a] for f, n, m, a in data[s]] for s in ("backbone", "head")}
    return {**data, **rows}


OTHER = dataclasses.replace(
    YOLOV5,
    family="Other",
    scaled_width=frozenset({"Cv", "Csp", "Pool", "CspAttn"}),
    concat="Join",
    upsample=frozenset({"Up"}),
    strided={"Cv": 1},
    detect=("Head",),
    csp_blocks=("Csp",),
    pools=("Pool",),
    attention_hosts={"Csp": AttentionHost("CspAttn", (None, True))},
)


def test_the_engine_names_its_dialect() -> None:
    assert engine("yolov5").dialect is YOLOV5


@pytest.mark.parametrize("placement", PLACEMENTS, ids=lambda p: Placement.from_config(p).label)
def test_another_dialect_places_as_yolov5_does(placement: dict) -> None:
    data = yaml.safe_load(model_yaml("yolov5s").read_text())
    ours = apply(ModelSpec.from_dict(data, YOLOV5), "se", {}, Placement.from_config(placement))
    other = apply(ModelSpec.from_dict(renamed(data), OTHER), "se", {}, Placement.from_config(placement))
    assert other.index_map == ours.index_map and other.inserted == ours.inserted
    assert output_channels(other.spec) == output_channels(ours.spec)
    assert layer_strides(other.spec) == layer_strides(ours.spec)
    assert [l.args for l in other.spec.layers] == [l.args for l in ours.spec.layers]
    names = {**NAMES, "C3Attn": "CspAttn"}
    assert [l.module for l in other.spec.layers] == [names.get(l.module, l.module) for l in ours.spec.layers]


def test_c3_inside_is_refused_in_one_sentence_by_a_dialect_without_attention_hosts() -> None:
    data = yaml.safe_load(model_yaml("yolov5s").read_text())
    spec = ModelSpec.from_dict(renamed(data), dataclasses.replace(OTHER, attention_hosts={}))
    with pytest.raises(PlacementError, match=r"^placement c3_inside is not available on Other models yet; choose "):
        apply(spec, "se", {}, Placement(kind="c3_inside"))


def test_placement_errors_name_the_dialect_s_modules() -> None:
    data = yaml.safe_load(model_yaml("yolov5s").read_text())
    data["backbone"] = [
        [f, n, "Conv", [1024, 1, 1]] if m == "SPPF" else [f, n, m, a] for f, n, m, a in data["backbone"]
    ]
    spec = ModelSpec.from_dict(renamed(data), OTHER)
    with pytest.raises(PlacementError, match="needs an Pool layer in the backbone"):
        apply(spec, "se", {}, Placement.from_config({"name": "before_sppf"}))
    with pytest.raises(ValueError, match="is not a Other model yaml"):
        ModelSpec.from_dict({"nc": 1}, OTHER)


@dataclasses.dataclass(frozen=True)
class Scaled(Dialect):
    """A dialect whose yaml keeps ``scales: {s: [depth, width, max_channels]}`` and ``scale``."""

    def multiples(self, header: Mapping[str, Any]) -> Multiples:
        depth, width, cap = header["scales"][header["scale"]]
        return Multiples(depth, width, cap)


def test_a_dialect_s_width_rule_caps_by_max_channels() -> None:
    data = yaml.safe_load(model_yaml("yolov5s").read_text())
    data.pop("depth_multiple"), data.pop("width_multiple")
    capped = {**data, "scales": {"n": [0.33, 0.25, 256]}, "scale": "n"}
    dialect = Scaled(**{f.name: getattr(YOLOV5, f.name) for f in dataclasses.fields(YOLOV5)})
    dialect = dataclasses.replace(dialect, header_keys=("nc", "scales", "scale"))
    widths = output_channels(ModelSpec.from_dict(capped, dialect))
    assert widths[:10] == [16, 32, 32, 64, 64, 64, 64, 64, 64, 64]  # 1024 → min(1024, 256) · 0.25
