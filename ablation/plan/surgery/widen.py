"""A wider baseline: every width-setting layer's output channels times a factor.

A model's width multiple cannot make a model a few percent wider: the stock multiples put every
layer exactly on a multiple of 8, and the engines round ``width x multiple`` *up* to the next
multiple of 8, so the smallest step above a stock multiple widens every layer by 8 channels
(yolov5n: 16 → 24 channels in the stem, +26 % GFLOPs). ``widen`` instead multiplies each layer's
real width by ``factor`` and rounds it to the *nearest* multiple of the dialect's divisor (never
below the layer's own width): as the factor grows, the widest layers widen first, eight channels
at a time, so GFLOPs grow in small steps. The widths are written into the rows, with the header's
width rule set to leave them as written (``Dialect.explicit_widths``); the depth multiple is kept.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ablation.plan.surgery.channels import output_channels
from ablation.plan.surgery.graph import ModelSpec


def widened_width(width: int, factor: float, divisor: int = 8) -> int:
    """``width x factor`` to the nearest multiple of ``divisor`` (halves up), at least ``width``."""
    return max(width, divisor * math.floor(width * factor / divisor + 0.5))


def width_layers(spec: ModelSpec) -> dict[int, int]:
    """Layer index → real output width, for the layers whose first argument sets it."""
    widths = output_channels(spec)
    dialect = spec.dialect
    return {
        i: widths[i]
        for i, layer in enumerate(spec.layers)
        if layer.module in dialect.scaled_width and layer.args and isinstance(layer.args[0], int | float)
    }


def breakpoints(spec: ModelSpec, highest: float) -> list[float]:
    """The factors in ``(1, highest]`` at which some layer's widened width changes (sorted)."""
    divisor = spec.dialect.divisor
    points: set[float] = set()
    for width in set(width_layers(spec).values()):
        j = width // divisor + 1
        while (step := (divisor * j - divisor / 2) / width) <= highest:
            if step > 1:
                points.add(step)
            j += 1
    return sorted(points)


def widen(spec: ModelSpec, factor: float) -> ModelSpec:
    """``spec`` with every width-setting layer ``widened_width`` by ``factor``."""
    divisor = spec.dialect.divisor
    targets = {i: widened_width(w, factor, divisor) for i, w in width_layers(spec).items()}
    layers = [
        replace(layer, args=[targets[i], *layer.args[1:]]) if i in targets else layer
        for i, layer in enumerate(spec.layers)
    ]
    header = spec.dialect.explicit_widths(spec.header, max(targets.values(), default=0))
    wider = replace(spec, header=header, layers=layers)
    wider = wider.with_layers(layers, note=f"widths x {factor:g} (nearest multiple of {divisor}) of {spec.source}")
    built = output_channels(wider)
    wrong = [i for i, w in targets.items() if built[i] != w]
    if wrong:
        raise ValueError(f"widening by {factor:g} could not set the width of layer {wrong[0]}; this is a bug.")
    return wider
