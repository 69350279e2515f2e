"""Output channels of every layer, by the rules upstream's ``parse_model`` applies.

Needed because the attention module's channel argument must be the *real* width after
``width_multiple`` and ``make_divisible``, not the unscaled number written in the yaml.
"""

from __future__ import annotations

import math

from ablation.plan.surgery.graph import DETECT_MODULES, Layer, ModelSpec

# Modules whose first argument is an output width that parse_model scales by width_multiple.
SCALED_WIDTH = {
    "Conv",
    "GhostConv",
    "Bottleneck",
    "GhostBottleneck",
    "SPP",
    "SPPF",
    "DWConv",
    "MixConv2d",
    "Focus",
    "CrossConv",
    "BottleneckCSP",
    "C3",
    "C3TR",
    "C3SPP",
    "C3Ghost",
    "nn.ConvTranspose2d",
    "DWConvTranspose2d",
    "C3x",
    "C3Attn",
}


def make_divisible(x: float, divisor: int = 8) -> int:
    return math.ceil(x / divisor) * divisor


def scaled_width(width: int, multiple: float) -> int:
    return make_divisible(width * multiple, 8)


def output_channels(spec: ModelSpec, in_channels: int = 3) -> list[int]:
    """``ch[i]`` for every layer ``i``; the detection head gets 0 (it has no single width)."""
    outputs: list[int] = []
    for i, layer in enumerate(spec.layers):
        outputs.append(_layer_out(layer, i, outputs, in_channels, spec.width))
    return outputs


def _layer_out(layer: Layer, i: int, outputs: list[int], in_channels: int, width: float) -> int:
    sources = [in_channels if s < 0 else outputs[s] for s in layer.sources(i)]
    module, args = layer.module, layer.args
    if module in SCALED_WIDTH:
        return scaled_width(args[0], width) if isinstance(args[0], (int, float)) else sources[0]
    if module == "Concat":
        return sum(sources)
    if module in DETECT_MODULES:
        return 0
    if module == "Contract":
        return sources[0] * args[0] ** 2
    if module == "Expand":
        return sources[0] // args[0] ** 2
    return sources[0]
