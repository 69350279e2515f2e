"""Global context block (Cao et al., "GCNet: Non-local Networks Meet Squeeze-Excitation Networks
and Beyond", ICCV Workshops 2019; official code: https://github.com/xvjiarui/GCNet,
``mmdet/ops/ct/context_block.py``, ``ContextBlock2d``).

The paper's default block ('att' pooling, 'channel_add' fusion):
- context modelling: a 1x1 conv (C → 1, with bias) scores every position, softmax over H·W,
  context = the softmax-weighted sum of x over the positions (C values per sample);
- transform: 1x1 conv C → P, LayerNorm over (P, 1, 1), ReLU, 1x1 conv P → C;
- fusion: out = x + transform(context), broadcast to every position.
P = int(C · ratio) in the official backbone with ratio 1/16 (the paper's "r16"); here
``reduction`` = 16 and P = max(C // 16, min_hidden). The floor (4) is ours: a LayerNorm over a
single value outputs its bias whatever the input, so the official P = 1 at 16 channels (yolov5n)
would add a constant and ignore the context. Widths from 64 on are unchanged.
Initialisation as the official: the last conv is zero (the block starts as the identity) and
the mask conv is Kaiming-normal (fan_in).
Parameters, from the official layer definitions: (C + 1) + (C·P + P) + 2P + (P·C + C)
= 2CP + 2C + 3P + 1: 653 at 64 channels, 8753 at 256.
The softmax runs in float32 so a ``.half()`` model keeps its weights summing to 1.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


@ATTENTION.register(
    "gc", paper="Cao et al., GCNet: Non-local Networks Meet Squeeze-Excitation Networks and Beyond, ICCVW 2019"
)
class GlobalContext(nn.Module):
    def __init__(self, channels: int, reduction: int = 16, min_hidden: int = 4) -> None:
        super().__init__()
        hidden = max(channels // reduction, min_hidden, 1)
        self.mask = nn.Conv2d(channels, 1, 1)
        self.transform = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.LayerNorm([hidden, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
        )
        nn.init.kaiming_normal_(self.mask.weight, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(self.mask.bias)
        nn.init.zeros_(self.transform[-1].weight)
        nn.init.zeros_(self.transform[-1].bias)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, 1, 1): x pooled with softmax weights over its H·W positions."""
        b, c, h, w = x.shape
        weights = self.mask(x).reshape(b, h * w, 1).float().softmax(1).to(x.dtype)
        return (x.reshape(b, c, h * w) @ weights).reshape(b, c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.transform(self.context(x))
