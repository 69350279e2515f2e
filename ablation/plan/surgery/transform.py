"""The surgery itself: insert layers after given indices and rewrite every reference.

Rules (the ones people get wrong by hand):
- every base layer after an insertion point shifts; every absolute ``from`` is remapped;
- consumers of a wrapped layer (the next layer's ``-1`` and every absolute reference, Detect's
  included) read the attention output instead;
- the inserted module gets the wrapped layer's *real* width and ``number`` 1 (never depth-scaled).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ablation.attention.registry import Entry
from ablation.plan.surgery.channels import output_channels
from ablation.plan.surgery.graph import Layer, ModelSpec


@dataclass(frozen=True)
class SurgeryResult:
    spec: ModelSpec
    index_map: dict[int, int]  # base layer index → its index in the new model
    inserted: list[int]  # new indices of inserted layers


def insert_after(spec: ModelSpec, after: list[int], entry: Entry, kwargs: dict[str, Any]) -> SurgeryResult:
    """Insert ``entry``'s module after every base index in ``after``."""
    widths = output_channels(spec)
    wanted = set(after)
    new_layers: list[Layer] = []
    index_map: dict[int, int] = {}
    reader: dict[int, int] = {}  # base index → new index whose output now stands for it
    inserted: list[int] = []
    for k, layer in enumerate(spec.layers):
        index_map[k] = reader[k] = len(new_layers)
        new_layers.append(_remap(layer, k, len(new_layers), reader))
        if k in wanted:
            reader[k] = len(new_layers)
            inserted.append(len(new_layers))
            args = entry.positional_args(widths[k], kwargs)
            note = f"{entry.cls.__name__} after base {k}, {widths[k]} channels"
            new_layers.append(Layer(-1, 1, entry.cls.__name__, args, layer.section, None, note))
    result = spec.with_layers(new_layers, note=f"{entry.name} inserted after base layers {sorted(wanted)}")
    result.validate()
    return SurgeryResult(result, index_map, inserted)


def replace_c3(spec: ModelSpec, indices: list[int], entry: Entry, kwargs: dict[str, Any], point: str) -> SurgeryResult:
    """Turn the host layers (C3) at ``indices`` into the dialect's attention blocks (``C3Attn``)
    with the attention at ``point``."""
    dialect, layers = spec.dialect, list(spec.layers)
    hosts = sorted({layers[i].module for i in indices})
    for i in indices:
        layer = layers[i]
        attention_args = entry.positional_args(0, kwargs)[1:]
        args = dialect.block_args(layer.module, layer.args, entry.cls.__name__, point, attention_args)
        block = dialect.attention_hosts[layer.module].block
        layers[i] = replace(layer, module=block, args=args, note=f"{layer.module} with {entry.cls.__name__} at {point}")
    note = f"{entry.name} inside {'/'.join(hosts)} layers {indices} at {point}"
    return SurgeryResult(spec.with_layers(layers, note=note), {i: i for i in range(len(layers))}, [])


def _remap(layer: Layer, old: int, new: int, reader: dict[int, int]) -> Layer:
    refs = layer.frm if isinstance(layer.frm, list) else [layer.frm]
    remapped = []
    for ref in refs:
        source = old + ref if ref < 0 else ref
        if source < 0:  # the input image
            remapped.append(ref)
            continue
        target = reader[source]
        remapped.append(target - new if ref < 0 else target)
    frm: int | list[int] = remapped if isinstance(layer.frm, list) else remapped[0]
    return replace(layer, frm=frm)
