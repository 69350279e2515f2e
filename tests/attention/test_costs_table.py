"""The cost table in docs/module-costs.md (``scripts/attention_costs.py``) has a row for every registered module,
and its parameter columns are what the surgery places: the module's parameters at each insertion
width, summed; a placement planning refuses reads ``refused``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ablation.attention import ATTENTION
from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.surgery import ModelSpec, Placement, apply
from ablation.plan.surgery.channels import output_channels
from ablation.plan.surgery.feature_size import oversized

COSTS = Path(__file__).resolve().parents[2] / "docs" / "module-costs.md"
PLACEMENTS = ("neck", "before_sppf", "after_c3")


def table() -> dict[str, list[str]]:
    text = COSTS.read_text().split("# What each module costs\n", 1)[1].split("\n## ", 1)[0]  # this section only
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", text, flags=re.M)
    return {name: [c.strip() for c in cells.split("|")] for name, cells in rows}


def test_every_registered_module_has_a_row() -> None:
    assert sorted(table()) == ATTENTION.names()


@pytest.mark.parametrize("name", ATTENTION.names())
def test_parameter_columns_are_the_placed_modules(name: str) -> None:
    base = ModelSpec.load(model_yaml("yolov5s"), YOLOV5)
    cells = table()[name]
    for column, placement in enumerate(PLACEMENTS):
        result = apply(base, name, {}, Placement.from_config({"name": placement}))
        if oversized(result.spec, {"train": {"imgsz": 640}}):
            assert cells[column] == "refused"
            continue
        widths = output_channels(result.spec)
        added = sum(sum(p.numel() for p in ATTENTION.build(name, widths[i]).parameters()) for i in result.inserted)
        assert cells[column] == f"{added:,}", (name, placement)
