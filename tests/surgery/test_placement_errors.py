"""Impossible placements and malformed yamls fail with one sentence naming the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.surgery import ModelSpec, ModelYamlError, Placement, PlacementError, apply


def spec(name: str = "yolov5s") -> ModelSpec:
    return ModelSpec.load(model_yaml(name), YOLOV5)


@pytest.mark.parametrize(
    ("cfg", "fix"),
    [
        ({"name": "custom"}, "placement.after=[4,6]"),
        ({"name": "custom", "after": [24]}, "0..23"),
        ({"name": "custom", "after": [-1]}, "0..23"),
        ({"name": "neck", "scales": ["P6"]}, "subset of those"),
        ({"name": "somewhere"}, "choose one of"),
        ({"name": "c3_inside", "point": "middle"}, "bottleneck_in"),
    ],
)
def test_impossible_placements(cfg: dict, fix: str) -> None:
    with pytest.raises(PlacementError, match=re.escape(fix)) as err:
        apply(spec(), "se", {}, Placement.from_config(cfg))
    assert str(err.value).count("\n") == 0


def test_no_sppf(tmp_path: Path) -> None:
    text = model_yaml("yolov5s").read_text().replace("SPPF, [1024, 5]", "Conv, [1024, 1, 1]")
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(PlacementError, match="needs an SPPF or SPP layer"):
        apply(ModelSpec.load(tmp_path / "m.yaml", YOLOV5), "se", {}, Placement.from_config({"name": "before_sppf"}))


def test_unknown_attention_and_kwargs() -> None:
    with pytest.raises(KeyError, match="unknown attention 'sse'; choose one of"):
        apply(spec(), "sse", {}, Placement.from_config({"name": "neck"}))
    with pytest.raises(TypeError, match="has no argument 'ratio'; it accepts: reduction"):
        apply(spec(), "se", {"ratio": 4}, Placement.from_config({"name": "neck"}))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("nc: 80\n", "no 'backbone' and 'head'"),
        ("backbone: []\nhead: []\n", "lacks nc"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_malformed_yaml(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ModelYamlError, match=match):
        ModelSpec.load(tmp_path / "bad.yaml", YOLOV5)


def test_forward_reference_is_rejected(tmp_path: Path) -> None:
    text = model_yaml("yolov5s").read_text().replace("[[-1, 6], 1, Concat, [1]]", "[[-1, 20], 1, Concat, [1]]")
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(ModelYamlError, match="does not precede it"):
        ModelSpec.load(tmp_path / "m.yaml", YOLOV5)


def test_missing_model_yaml() -> None:
    with pytest.raises(FileNotFoundError, match="model.cfg=/absolute/path"):
        model_yaml("/nope/model.yaml")
