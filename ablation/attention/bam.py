"""Bottleneck Attention Module (Park et al., "BAM: Bottleneck Attention Module", BMVC 2018;
official code: https://github.com/Jongchan/attention-module, ``MODELS/bam.py``, ``BAM``).

Channel attention Mc = MLP(mean over H·W of x): FC C → C/r, BatchNorm, ReLU, FC C/r → C.
Spatial attention Ms: 1x1 conv C → C/r, BN, ReLU, then two 3x3 convs dilated by 4 (each + BN +
ReLU), then a 1x1 conv C/r → 1. Output: out = x · (1 + σ(Mc + Ms)), Mc (B, C, 1, 1) and
Ms (B, 1, H, W) broadcast to (B, C, H, W). r = 16, dilation 4, two dilated convs.
Deviations:
- the branches are summed, as the paper's Eq. 2 and its ablation (Table 2b: sum beats product
  and max) choose; the official ``bam.py`` multiplies them (reported in its issues #1, #39,
  #52, unanswered). ``multiply=True`` gives the official code's form. (A flag, not a string:
  upstream's ``parse_model`` evaluates string arguments, and ``"sum"`` is Python's ``sum``);
- the global mean is ``mean`` over H·W; the official's ``avg_pool2d(x, H, stride=H)`` pools
  H×H windows, so on a non-square map it is no global pool (W > H gives several columns and the
  FC layer fails on the flattened size);
- the FC layers are 1x1 convs on the (B, C, 1, 1) vector and the BN is 2-d: the same
  parameters; every BN falls back to its running statistics where a training batch holds one
  value per channel (batch 1 on the vector or on a 1x1 map) instead of raising.
Hidden width C/r is at least 1 (16 channels → 1).
Parameters, from the official layer definitions (h = C/r, every conv and FC with bias):
(C·h + h) + 2h + (h·C + C) [channel] + (C·h + h) + 2h + 2·(9h² + h + 2h) + (h + 1) [spatial]
= 3Ch + 18h² + 13h + C + 1: 1173 at 64 channels, 17361 at 256.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention._batchnorm import BatchNorm2d
from ablation.attention.registry import ATTENTION


@ATTENTION.register("bam", paper="Park et al., BAM: Bottleneck Attention Module, BMVC 2018")
class BAM(nn.Module):
    def __init__(
        self, channels: int, reduction: int = 16, dilation: int = 4, dilated_convs: int = 2, multiply: bool = False
    ) -> None:
        super().__init__()
        self.multiply = multiply
        hidden = max(channels // reduction, 1)
        self.channel_gate = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), BatchNorm2d(hidden), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1)
        )
        layers: list[nn.Module] = [nn.Conv2d(channels, hidden, 1), BatchNorm2d(hidden), nn.ReLU(inplace=True)]
        for _ in range(dilated_convs):
            layers += [
                nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation),
                BatchNorm2d(hidden),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(hidden, 1, 1))
        self.spatial_gate = nn.Sequential(*layers)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Mc(x) + Ms(x) (Mc · Ms with ``multiply``), (B, C, H, W) by broadcasting (B, C, 1, 1) with (B, 1, H, W)."""
        mc, ms = self.channel_gate(x.mean((2, 3), keepdim=True)), self.spatial_gate(x)
        return mc * ms if self.multiply else mc + ms

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1 + self.attention(x).sigmoid())
