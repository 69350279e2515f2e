"""Layouts that careful people made by hand come out of the surgery layer for layer."""

from __future__ import annotations

import pytest

from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.surgery import ModelSpec, Placement, apply
from ablation.plan.surgery.channels import output_channels


def base(name: str) -> ModelSpec:
    return ModelSpec.load(model_yaml(name), YOLOV5)


def rows(spec: ModelSpec) -> list[tuple]:
    return [(l.frm, l.module, l.args[0] if l.args else None) for l in spec.layers]


def place(model: str, attention: str, kind: str, **extra) -> ModelSpec:
    return apply(base(model), attention, {}, Placement.from_config({"name": kind, **extra})).spec


def head_refs(spec: ModelSpec) -> dict[str, list]:
    return {
        "concat": [l.frm for l in spec.layers if l.module == "Concat"],
        "detect": spec.layers[-1].frm,
    }


def test_se_before_sppf_yolov5s_matches_the_issue() -> None:
    spec = place("yolov5s", "se", "before_sppf")
    assert spec.layers[9].module == "SE" and spec.layers[9].args == [512, 16] and spec.layers[9].frm == -1
    assert spec.layers[10].module == "SPPF"
    assert head_refs(spec) == {"concat": [[-1, 6], [-1, 4], [-1, 15], [-1, 11]], "detect": [18, 21, 24]}


def test_simam_at_backbone_end_yolov5s() -> None:
    spec = place("yolov5s", "simam", "backbone_end")
    assert [l.module for l in spec.layers[8:12]] == ["C3", "SPPF", "SimAM", "Conv"]
    assert spec.layers[10].args[0] == 512
    assert head_refs(spec) == {"concat": [[-1, 6], [-1, 4], [-1, 15], [-1, 11]], "detect": [18, 21, 24]}


def test_simam_after_every_backbone_c3_yolov5s() -> None:
    spec = place("yolov5s", "simam", "after_c3")
    modules = [l.module for l in spec.layers]
    assert modules[:14] == [
        "Conv",
        "Conv",
        "C3",
        "SimAM",
        "Conv",
        "C3",
        "SimAM",
        "Conv",
        "C3",
        "SimAM",
        "Conv",
        "C3",
        "SimAM",
        "SPPF",
    ]
    assert [spec.layers[i].args[0] for i in (3, 6, 9, 12)] == [64, 128, 256, 512]
    # The head reads P4 and P3 from the attention outputs after base layers 6 and 4.
    assert head_refs(spec) == {"concat": [[-1, 9], [-1, 6], [-1, 18], [-1, 14]], "detect": [21, 24, 27]}


@pytest.mark.parametrize("attention", ["simam", "ema"])
def test_attention_in_the_neck_yolov5s(attention: str) -> None:
    spec = place("yolov5s", attention, "neck")
    inserted = [i for i, l in enumerate(spec.layers) if l.base_index is None]
    assert inserted == [18, 22, 26]
    assert [spec.layers[i].args[0] for i in inserted] == [128, 256, 512]
    assert spec.layers[19].frm == -1 and spec.layers[19].module == "Conv"  # PANet reads the attended P3
    assert head_refs(spec) == {"concat": [[-1, 6], [-1, 4], [-1, 14], [-1, 10]], "detect": [18, 22, 26]}


def test_neck_subset_of_scales() -> None:
    spec = place("yolov5s", "se", "neck", scales=["P4"])
    assert [i for i, l in enumerate(spec.layers) if l.module == "SE"] == [21]
    assert spec.layers[-1].frm == [17, 21, 24]


def test_p6_neck_has_four_scales_and_real_widths() -> None:
    spec = place("yolov5s6", "se", "neck")
    se = [l for l in spec.layers if l.module == "SE"]
    assert [l.args[0] for l in se] == [128, 256, 384, 512]
    assert len(spec.layers[-1].frm) == 4


def test_channels_are_scaled_real_widths_for_yolov5n() -> None:
    spec = place("yolov5n", "se", "before_sppf")
    assert spec.layers[9].args == [256, 16]  # 1024 x 0.25, not the yaml's [1024]


def test_inserted_layers_are_not_depth_scaled() -> None:
    spec = place("yolov5m", "se", "after_c3")
    assert all(l.number == 1 for l in spec.layers if l.module == "SE")


def test_custom_indices_and_index_map() -> None:
    result = apply(base("yolov5s"), "se", {}, Placement.from_config({"name": "custom", "after": [4, 17]}))
    assert result.inserted == [5, 19]
    assert result.index_map[4] == 4 and result.index_map[5] == 6 and result.index_map[17] == 18
    assert result.index_map[24] == 26


def test_c3_inside_replaces_c3_by_scope() -> None:
    for scope, count in (("backbone", 4), ("neck", 4), ("all", 8)):
        spec = place("yolov5s", "se", "c3_inside", point="concat", scope=scope)
        c3a = [l for l in spec.layers if l.module == "C3Attn"]
        assert len(c3a) == count
        assert all(l.args[2:4] == ["SE", "concat"] for l in c3a)
    assert len(spec.layers) == len(base("yolov5s").layers)


def test_channel_table_matches_upstream_parse_model() -> None:
    import torch

    from ablation.plan.preflight import build_model

    for name in ("yolov5n", "yolov5s6"):
        model = build_model(model_yaml(name)).eval()
        seen: dict[int, int] = {}
        for i, layer in enumerate(model.model[:-1]):
            layer.register_forward_hook(lambda m, inp, out, i=i, seen=seen: seen.__setitem__(i, out.shape[1]))
        with torch.no_grad():
            model(torch.rand(1, 3, 128, 128))
        assert [seen[i] for i in range(len(model.model) - 1)] == output_channels(base(name))[:-1], name
