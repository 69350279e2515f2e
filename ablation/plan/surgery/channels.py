"""Output channels of every layer, by the rules the engine's model parser applies.

Needed because the attention module's channel argument must be the *real* width after the
width multiple and rounding (``Dialect.channels``), not the unscaled number written in the yaml.
Which modules set, sum or reshape the width is the spec's dialect's.
"""

from __future__ import annotations

from ablation.engines.dialect import Dialect, Multiples
from ablation.plan.surgery.graph import Layer, ModelSpec


def output_channels(spec: ModelSpec, in_channels: int = 3) -> list[int]:
    """``ch[i]`` for every layer ``i``; the detection head gets 0 (it has no single width)."""
    outputs: list[int] = []
    scaling = spec.multiples
    for i, layer in enumerate(spec.layers):
        outputs.append(_layer_out(layer, i, outputs, in_channels, spec.dialect, scaling))
    return outputs


def _layer_out(layer: Layer, i: int, outputs: list[int], in_channels: int, dialect: Dialect, scaling: Multiples) -> int:
    sources = [in_channels if s < 0 else outputs[s] for s in layer.sources(i)]
    module, args = layer.module, layer.args
    if module in dialect.scaled_width:
        return dialect.channels(args[0], scaling) if isinstance(args[0], (int, float)) else sources[0]
    if module == dialect.concat:
        return sum(sources)
    if module in dialect.detect:
        return 0
    if module in dialect.space_to_depth:
        return sources[0] * args[0] ** 2
    if module in dialect.depth_to_space:
        return sources[0] // args[0] ** 2
    return sources[0]
