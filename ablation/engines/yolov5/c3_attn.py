"""C3 with an attention module inside, for the ``c3_inside`` placement.

Upstream's C3: ``cv3(cat(m(cv1(x)), cv2(x)))``. The attention goes at one of three points:

- ``bottleneck_in``: on the cv1 branch, before the bottlenecks (width ``c_``);
- ``skip_in``: on the input of the cv2 branch (width ``c1``);
- ``concat``: on the concatenation, before cv3 (width ``2·c_``).

It subclasses upstream's C3, so its own weights keep upstream's names (cv1, cv2, cv3, m).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from yolov5.models.common import C3

from ablation.attention.registry import ATTENTION
from ablation.engines.yolov5.registration import C3FamilyMeta

POINTS = ("bottleneck_in", "skip_in", "concat")


class C3Attn(C3, metaclass=C3FamilyMeta):
    """``C3Attn(c1, c2, n, shortcut, attention, point, *attention_args)``."""

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        shortcut: bool = True,
        attention: str | type = "se",
        point: str = "bottleneck_in",
        *attention_args: Any,
    ) -> None:
        super().__init__(c1, c2, n, shortcut)
        if point not in POINTS:
            raise ValueError(f"C3Attn point must be one of {', '.join(POINTS)}, got {point!r}.")
        name = attention.__name__ if isinstance(attention, type) else str(attention)
        entry = ATTENTION.get(name)
        hidden = self.cv1.conv.out_channels
        width = {"bottleneck_in": hidden, "skip_in": c1, "concat": 2 * hidden}[point]
        self.point = point
        self.attn: nn.Module = entry.cls(width, *attention_args)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.point == "bottleneck_in":
            return self.cv3(torch.cat((self.m(self.attn(self.cv1(x))), self.cv2(x)), 1))
        if self.point == "skip_in":
            return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(self.attn(x))), 1))
        return self.cv3(self.attn(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1)))
