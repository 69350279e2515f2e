"""The ultralytics dialect: yolo11n and yolov8n planned at every insertion placement build in the
package with the planned widths, parameters, layer count and Detect inputs (c3_inside:
test_c3_inside.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablation.attention import ATTENTION
from ablation.engines import engine
from ablation.plan.surgery import ModelSpec, Placement, apply
from ablation.plan.surgery.channels import output_channels

ENG = engine("ultralytics")
# base layers each placement inserts after, and their real widths (min(c, max_channels) * width)
EXPECTED = {
    "yolo11n": {
        "neck": ([16, 19, 22], [64, 128, 256]),
        "after_c3": ([2, 4, 6, 8], [64, 128, 128, 256]),
        "before_sppf": ([8], [256]),
        "backbone_end": ([10], [256]),
    },
    "yolov8n": {
        "neck": ([15, 18, 21], [64, 128, 256]),
        "after_c3": ([2, 4, 6, 8], [32, 64, 128, 256]),
        "before_sppf": ([8], [256]),
        "backbone_end": ([9], [256]),
    },
}
CASES = [(m, p) for m, placements in EXPECTED.items() for p in placements]


def params(model: object) -> int:
    return sum(p.numel() for p in model.parameters())  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def bases() -> dict[str, tuple[ModelSpec, object]]:
    built = {}
    for name in EXPECTED:
        path = ENG.model_yaml(name)
        built[name] = (ModelSpec.load(path, ENG.dialect), ENG.build_model(path))
    return built


@pytest.mark.parametrize(("model", "placement"), CASES, ids=[f"{m}-{p}" for m, p in CASES])
def test_se_planned_builds_with_the_inserted_parameters(
    model: str, placement: str, bases: dict[str, tuple[ModelSpec, object]], tmp_path: Path
) -> None:
    spec, base = bases[model]
    after, widths = EXPECTED[model][placement]
    assert Placement(kind=placement).insert_after(spec) == after
    assert [output_channels(spec)[i] for i in after] == widths
    result = apply(spec, "se", {}, Placement(kind=placement))
    built = ENG.build_model(result.spec.write(tmp_path / f"{model}-se-{placement}.yaml"))
    se = ATTENTION.get("se")
    inserted = sum(params(se.cls(*se.positional_args(c, {}))) for c in widths)  # built independently
    assert params(built) == params(base) + inserted
    assert len(built.model) == len(base.model) + len(after)
    assert [type(built.model[i]).__name__ for i in result.inserted] == ["SE"] * len(after)
    # Detect reads the same layers, shifted (and, at the neck, the attention after each of them)
    base_from = base.model[-1].f
    shift = {i: result.index_map[i] for i in base_from}
    expect = [shift[i] + (1 if placement == "neck" else 0) for i in base_from]
    assert built.model[-1].f == expect
    for old, new in result.index_map.items():
        assert type(built.model[new]) is type(base.model[old])


def test_the_scale_comes_from_scales_at_scale() -> None:
    spec = ModelSpec.load(ENG.model_yaml("yolo11s"), ENG.dialect)
    scaling = spec.multiples
    assert (scaling.depth, scaling.width, scaling.max_channels) == (0.5, 0.5, 1024)
    header = {k: v for k, v in spec.header.items() if k != "scale"}
    with pytest.raises(ValueError, match="add `scale: n`"):
        ENG.dialect.multiples(header)
