"""C2f and C3k2 with an attention module inside, for the ``c3_inside`` placement.

The package's C2f (and C3k2, a C2f whose inner blocks are Bottleneck, C3k or Bottleneck +
PSABlock) splits ``cv1(x)`` into two halves ``y0, y1``, runs the inner blocks one after another
from ``y1``, and ends with ``cv2(cat(y0, y1, m0, m1, ...))``. The attention goes at the point of
the same name in YOLOv5's ``C3Attn``:

- ``bottleneck_in``: on ``y1``, the input of the inner blocks (width ``c``, half of cv1);
- ``skip_in``: on ``y0``, the half that skips the inner blocks (width ``c``);
- ``concat``: on the concatenation, before cv2 (width ``(2 + n) · c``).

Each block subclasses the package's class, so its own weights keep the package's names (cv1,
cv2, m): a checkpoint of the plain model carries into it, the attention's tensors (``attn.*``)
are new. ``around`` turns a block the package built into ours (the package's ``parse_model``
builds the host from the yaml row, see ``registration.install_blocks``); the constructor takes
the host's arguments, then the attention's name, its point and its arguments.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from ultralytics.nn.modules.block import C2f, C3k2

from ablation.attention.registry import ATTENTION

POINTS = ("bottleneck_in", "skip_in", "concat")


class _AttentionInside(nn.Module):
    """The attention and the forward passes of a C2f-shaped block with attention inside."""

    HOST: type[nn.Module]  # the package's block this one extends
    c: int
    cv1: nn.Module
    cv2: nn.Module
    m: nn.ModuleList

    def _attach(self, attention: str | type, point: str, attention_args: tuple[Any, ...]) -> None:
        if point not in POINTS:
            raise ValueError(f"{type(self).__name__} point must be one of {', '.join(POINTS)}, got {point!r}.")
        name = attention.__name__ if isinstance(attention, type) else str(attention)
        width = (2 + len(self.m)) * self.c if point == "concat" else self.c
        self.point = point
        self.attn: nn.Module = ATTENTION.get(name).cls(width, *attention_args)

    @classmethod
    def around(cls, host: nn.Module, attention: str | type, point: str, *attention_args: Any) -> _AttentionInside:
        """``host`` (a block of the package's class ``cls`` extends) with the attention added: the
        same submodules under the same names."""
        if type(host) is not cls.HOST:
            raise TypeError(f"{cls.__name__} is built around a {cls.HOST.__name__}, got {type(host).__name__}.")
        block = cls.__new__(cls)
        block.__dict__.update(host.__dict__)
        block._modules = dict(host._modules)  # type: ignore[assignment]
        block._attach(attention, point, attention_args)
        return block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._through(list(self.cv1(x).chunk(2, 1)))

    def forward_split(self, x: torch.Tensor) -> torch.Tensor:
        """As ``forward`` with ``split`` (the package's exporter switches C2f blocks to it)."""
        return self._through(list(self.cv1(x).split((self.c, self.c), 1)))

    def _through(self, y: list[torch.Tensor]) -> torch.Tensor:
        if self.point == "skip_in":
            y[0] = self.attn(y[0])
        elif self.point == "bottleneck_in":
            y[1] = self.attn(y[1])
        y.extend(m(y[-1]) for m in self.m)
        joined = torch.cat(y, 1)
        return self.cv2(self.attn(joined) if self.point == "concat" else joined)


class C2fAttention(_AttentionInside, C2f):
    """``C2fAttention(c1, c2, n, shortcut, g, e, attention, point, *attention_args)``."""

    HOST = C2f

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        shortcut: bool = False,
        g: int = 1,
        e: float = 0.5,
        attention: str | type = "se",
        point: str = "bottleneck_in",
        *attention_args: Any,
    ) -> None:
        C2f.__init__(self, c1, c2, n, shortcut, g, e)
        self._attach(attention, point, attention_args)


class C3k2Attention(_AttentionInside, C3k2):
    """``C3k2Attention(c1, c2, n, c3k, e, attn, g, shortcut, attention, point, *attention_args)``."""

    HOST = C3k2

    def __init__(
        self,
        c1: int,
        c2: int,
        n: int = 1,
        c3k: bool = False,
        e: float = 0.5,
        attn: bool = False,
        g: int = 1,
        shortcut: bool = True,
        attention: str | type = "se",
        point: str = "bottleneck_in",
        *attention_args: Any,
    ) -> None:
        C3k2.__init__(self, c1, c2, n, c3k, e, attn, g, shortcut)
        self._attach(attention, point, attention_args)


BLOCKS: dict[str, type[_AttentionInside]] = {"C2fAttention": C2fAttention, "C3k2Attention": C3k2Attention}
