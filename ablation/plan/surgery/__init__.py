"""Model surgery: base model yaml + attention + placement → a new yaml the engine builds.

Engine-blind: module names and the width rule come from the spec's dialect (``ModelSpec.dialect``,
the engine's ``Engine.dialect``).
"""

from __future__ import annotations

from typing import Any

from ablation.attention.registry import ATTENTION
from ablation.plan.surgery.graph import Layer, ModelSpec, ModelYamlError
from ablation.plan.surgery.placements import Placement, PlacementError
from ablation.plan.surgery.transform import SurgeryResult, insert_after, replace_c3

BASELINE = "none"


def apply(spec: ModelSpec, attention: str, kwargs: dict[str, Any], placement: Placement) -> SurgeryResult:
    """Place ``attention`` (a registry name, or ``none``) in ``spec`` at ``placement``."""
    if attention == BASELINE:
        return SurgeryResult(spec, {i: i for i in range(len(spec.layers))}, [])
    entry = ATTENTION.get(attention)
    entry.positional_args(0, kwargs)  # reject unknown kwargs before touching the graph
    if placement.kind == "c3_inside":
        return replace_c3(spec, placement.replace_c3(spec), entry, kwargs, placement.point)
    return insert_after(spec, placement.insert_after(spec), entry, kwargs)


__all__ = [
    "BASELINE",
    "Layer",
    "ModelSpec",
    "ModelYamlError",
    "Placement",
    "PlacementError",
    "SurgeryResult",
    "apply",
]
