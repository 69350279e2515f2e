"""Feature-map sizes at planning: MHSA's relative positions bound the maps it accepts, and a
config whose run would feed it a larger map is refused before anything trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.preflight import build_model
from ablation.plan.surgery import ModelSpec, Placement, apply
from ablation.plan.surgery.feature_size import input_sides, layer_strides, oversized


@pytest.mark.parametrize("model", ["yolov5n", "yolov5s6"])
def test_layer_strides_match_the_built_model(model: str) -> None:
    spec = ModelSpec.load(model_yaml(model), YOLOV5)
    built = build_model(model_yaml(model)).eval()
    sizes: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: sizes.append(out.shape[-1] if torch.is_tensor(out) else 0))
        for m in built.model
    ]
    with torch.no_grad():
        built(torch.zeros(1, 3, 256, 256))
    for h in hooks:
        h.remove()
    strides = layer_strides(spec)
    assert [256 // s if s else 0 for s in strides] == sizes
    assert strides[-1] == 0 and max(strides) == (64 if model.endswith("6") else 32)


def config(**train: object) -> object:
    return OmegaConf.create({"train": {"imgsz": 640, **train}, "preflight": {"imgsz": 64, "gflops_imgsz": 640}})


def test_input_sides_follow_upstream() -> None:
    sides = input_sides(config(), 32)
    assert sides["upstream's build pass"] == 256
    assert sides["training at train.imgsz=640"] == 640
    assert sides["validation (rectangular batches padded by half a stride)"] == 672  # ceil(640/32 + 0.5)·32
    assert (
        input_sides(config(imgsz=600, multi_scale=True), 32)["multi-scale training"] == 928
    )  # 600 → 608; randrange(304, 912 + 32) // 32 * 32 at most 928
    latency = OmegaConf.create({"train": {"imgsz": 320}, "evaluate": {"latency": {"enabled": True, "imgsz": 1280}}})
    assert input_sides(latency, 32)["the latency measurement"] == 1280


@pytest.mark.parametrize(
    ("placement", "train", "kwargs", "error"),
    [
        ({"name": "before_sppf"}, {}, {}, ""),
        ({"name": "backbone_end"}, {}, {}, ""),
        (
            {"name": "neck"},
            {},
            {},
            "at stride 8 it meets 84x84 in validation (rectangular batches padded by half a stride) (672 px); set attention.kwargs.size=84",
        ),
        ({"name": "neck"}, {}, {"size": 84}, ""),
        ({"name": "after_c3"}, {}, {}, "at stride 4 it meets 168x168"),
        ({"name": "c3_inside"}, {}, {}, "at stride 4 it meets 168x168"),
        ({"name": "c3_inside", "scope": "neck"}, {}, {"size": 84}, ""),
        (
            {"name": "before_sppf"},
            {"multi_scale": True},
            {},
            "meets 30x30 in multi-scale training (960 px); set attention.kwargs.size=30",
        ),
        ({"name": "before_sppf"}, {"imgsz": 1024}, {}, "meets 33x33 in validation"),
    ],
)
def test_mhsa_is_refused_where_its_maps_outgrow_its_table(
    placement: dict, train: dict, kwargs: dict, error: str
) -> None:
    spec = apply(ModelSpec.load(model_yaml("yolov5s"), YOLOV5), "mhsa", kwargs, Placement.from_config(placement)).spec
    message = oversized(spec, config(**train))
    assert (error in message) and bool(message) == bool(error), message
    if message:
        assert message.startswith("mhsa's relative positions cover feature maps up to")
        assert message.endswith("or place it at a coarser stride (before_sppf, backbone_end).")


def test_other_modules_are_never_bounded() -> None:
    spec = apply(
        ModelSpec.load(model_yaml("yolov5s"), YOLOV5), "se", {}, Placement.from_config({"name": "after_c3"})
    ).spec
    assert oversized(spec, config(imgsz=4096, multi_scale=True)) == ""


def test_a_config_that_passes_builds_and_trains(tmp_path: Path) -> None:
    """The check is not stricter than needed: at 21 the stride-32 model trains at 640 px."""
    spec = apply(
        ModelSpec.load(model_yaml("yolov5n"), YOLOV5), "mhsa", {}, Placement.from_config({"name": "before_sppf"})
    ).spec
    assert oversized(spec, config()) == ""
    model = build_model(spec.write(tmp_path / "m.yaml"), nc=2).train()
    out = model(torch.rand(1, 3, 672, 640))
    sum(o.square().mean() for o in out).backward()
    with pytest.raises(
        ValueError,
        match=r"MHSA's relative positions cover feature maps up to 21x21, got 22x21; set attention.kwargs.size=22",
    ):
        model(torch.rand(1, 3, 704, 672))


def test_planning_refuses_before_anything_trains(tmp_path: Path) -> None:
    from tests.test_plan_command import plan_command, read_plan

    code = plan_command(
        ["model=yolov5n", "attention=mhsa", "placement=neck,before_sppf", "preflight.enabled=false"], tmp_path
    )
    rows = {r["name"]: r for r in read_plan(tmp_path)}
    assert code == 1
    assert rows["yolov5n-mhsa-neck"]["error"].startswith("mhsa's relative positions cover feature maps up to 21x21")
    assert not (tmp_path / "yolov5n-mhsa-neck.yaml").exists()
    assert rows["yolov5n-mhsa-before_sppf"]["error"] == "" and int(rows["yolov5n-mhsa-before_sppf"]["params"]) > 0
