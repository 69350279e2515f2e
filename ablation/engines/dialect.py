"""A model yaml dialect: what an engine's yaml module names mean to the surgery.

The surgery (``ablation.plan.surgery``) reads and writes the yaml format that YOLOv5 and
Ultralytics share (``backbone``/``head`` lists of ``[from, number, module, args]``) but knows no
module name: which modules set the output width, concatenate, resample, detect, and which ones
the placements look for are the engine's, as one :class:`Dialect` (``Engine.dialect``). This file
imports no engine package; each engine folder builds its own dialect from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Multiples:
    """A model's scaling: ``depth`` and ``width`` multiples, and the channel cap (None: none)."""

    depth: float
    width: float
    max_channels: int | None = None


@dataclass(frozen=True)
class Dialect:
    """The module names of one engine's model yamls and the rules its model parser applies.

    Everything is data except three hooks a dialect may override in a subclass: ``multiples``
    (where a yaml keeps its scaling), ``channels`` (the width rule) and the argument layout of the
    attention-carrying block (``block_args``, ``block_attention``).
    """

    #: the model family, in error sentences ("... is not a YOLOv5 model yaml")
    family: str
    #: header keys a model yaml must have
    header_keys: tuple[str, ...]
    #: modules whose first argument is the output width, scaled by the width multiple
    scaled_width: frozenset[str]
    #: the module whose output concatenates its inputs' channels
    concat: str
    #: modules that resample by their second argument (``nn.Upsample``: ``[None, 2, "nearest"]``)
    upsample: frozenset[str]
    #: downsampling modules whose third argument is the stride, with an extra factor of their own
    #: (a space-to-depth stem such as ``Focus`` halves the map before its strided convolution)
    strided: Mapping[str, int]
    #: the detection head modules (the last layer; its inputs are the detected scales P3, P4, ...)
    detect: tuple[str, ...]
    #: the CSP block family whose outputs ``after_c3`` follows (the first one names it in errors)
    csp_blocks: tuple[str, ...]
    #: the pooling modules ``before_sppf`` goes before, in the order an error names them
    pools: tuple[str, ...]
    #: the block ``c3_inside`` rewrites and its attention-carrying replacement ("" for both: the
    #: engine has none yet, and ``c3_inside`` is refused at planning)
    attention_host: str
    attention_block: str
    #: the host's leading arguments the attention block keeps, each with its default when a row
    #: omits it (None: always present); the attention's name, point and arguments follow them
    host_args: tuple[Any, ...] = (None,)
    #: modules that trade resolution for channels by their first argument ``g``: space-to-depth
    #: (channels x g², stride x g) and depth-to-space (channels / g², stride / g)
    space_to_depth: frozenset[str] = frozenset()
    depth_to_space: frozenset[str] = frozenset()
    #: output widths are rounded up to a multiple of this
    divisor: int = 8
    #: header keys of the multiples (``multiples`` reads them)
    depth_key: str = "depth_multiple"
    width_key: str = "width_multiple"

    def multiples(self, header: Mapping[str, Any]) -> Multiples:
        """The depth and width multiples (and channel cap) of a yaml with ``header``."""
        return Multiples(float(header[self.depth_key]), float(header[self.width_key]))

    def channels(self, width: float, scaling: Multiples) -> int:
        """A yaml width as the model's (``min(c, max_channels) * width``, rounded up to ``divisor``)."""
        capped = width if scaling.max_channels is None else min(width, scaling.max_channels)
        return math.ceil(capped * scaling.width / self.divisor) * self.divisor

    def explicit_widths(self, header: Mapping[str, Any], widest: int) -> dict[str, Any]:
        """A copy of ``header`` whose width rule leaves a layer's first argument as it is (width
        multiple 1, no cap below ``widest``): the widths written into the rows are the model's."""
        out = dict(header)
        out[self.width_key] = 1.0
        return out

    def block_args(self, host: list[Any], attention: str, point: str, attention_args: list[Any]) -> list[Any]:
        """The attention block's yaml args for a host row's ``host`` args."""
        kept = [host[i] if i < len(host) else default for i, default in enumerate(self.host_args)]
        return [*kept, attention, point, *attention_args]

    def block_attention(self, args: list[Any]) -> tuple[str, list[Any]]:
        """The attention block's (attention name, attention args) from its yaml args."""
        n = len(self.host_args)
        return str(args[n]), list(args[n + 2 :])

    def carries(self, base: str, new: str) -> bool:
        """Whether a layer of class ``new`` takes the weights of a base layer of class ``base``."""
        return new == base or (base, new) == (self.attention_host, self.attention_block)
