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
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Multiples:
    """A model's scaling: ``depth`` and ``width`` multiples, and the channel cap (None: none)."""

    depth: float
    width: float
    max_channels: int | None = None


@dataclass(frozen=True)
class AttentionHost:
    """A block ``c3_inside`` rewrites: the attention-carrying block that replaces it and the
    host's leading arguments that block keeps, each with its default when a row omits it (None:
    always present); the attention's name, point and arguments follow them."""

    block: str
    args: tuple[Any, ...] = (None,)


@dataclass(frozen=True)
class Dialect:
    """The module names of one engine's model yamls and the rules its model parser applies.

    Everything is data except the hooks a dialect may override in a subclass: ``multiples``
    (where a yaml keeps its scaling), ``channels`` (the width rule), the argument layout of the
    attention-carrying blocks (``block_args``, ``block_attention``, ``host_arguments``) and
    ``checkpoint_classes`` (a checkpoint's class count, read from its head's tensors).
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
    #: the blocks ``c3_inside`` rewrites, by module name, with their attention-carrying
    #: replacements (empty: the engine has none, and ``c3_inside`` is refused at planning)
    attention_hosts: Mapping[str, AttentionHost] = field(default_factory=dict)
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

    def host_of(self, block: str) -> str:
        """The host module an attention block replaces ("" when ``block`` is none)."""
        return next((name for name, host in self.attention_hosts.items() if host.block == block), "")

    def block_args(
        self, host: str, args: list[Any], attention: str, point: str, attention_args: list[Any]
    ) -> list[Any]:
        """The attention block's yaml args for a row of module ``host`` with ``args``."""
        layout = self.attention_hosts[host].args
        kept = [args[i] if i < len(args) else default for i, default in enumerate(layout)]
        return [*kept, attention, point, *attention_args]

    def block_attention(self, block: str, args: list[Any]) -> tuple[str, list[Any]]:
        """An attention block's (attention name, attention args) from its yaml args."""
        n = len(self.attention_hosts[self.host_of(block)].args)
        return str(args[n]), list(args[n + 2 :])

    def host_arguments(self, block: str, args: list[Any]) -> list[Any]:
        """An attention block's yaml args without the attention: the host row's args."""
        return list(args[: len(self.attention_hosts[self.host_of(block)].args)])

    def carries(self, base: str, new: str) -> bool:
        """Whether a layer of class ``new`` takes the weights of a base layer of class ``base``."""
        return new == base or (base in self.attention_hosts and self.attention_hosts[base].block == new)

    def checkpoint_classes(self, state: Mapping[str, Any], detect: int) -> int | None:
        """The class count of a checkpoint's detection head at layer ``detect`` (None: unknown).

        YOLOv5's anchor-based Detect: its output convolutions have ``anchors per level · (5 + nc)``
        channels. A dialect whose head is laid out otherwise overrides this."""
        anchors, head = state.get(f"model.{detect}.anchors"), state.get(f"model.{detect}.m.0.weight")
        if anchors is None or head is None or anchors.dim() != 3:
            return None
        return int(head.shape[0] // anchors.shape[1] - 5)
