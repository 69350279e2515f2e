"""Global Attention Mechanism (Liu et al., "Global Attention Mechanism: Retain Information to
Enhance Channel-Spatial Interactions", arXiv 2021).

Channel submodule: permute to (B, H, W, C), MLP C → C/r → C (ReLU), permute back, sigmoid:
x' = x·Mc. Spatial submodule (no pooling): 7×7 conv C → C/r, BN, ReLU, 7×7 conv C/r → C, BN,
sigmoid: x'' = x'·Ms. With ``group=True`` both 7×7 convs use g groups (g = fit_groups of r over
the widths both convs split) and the hidden channels are shuffled between them, as the paper does
for ResNet-50.
Parameters (h = C/r): 2·C·h + h + C (MLP) + 98·C·h/g (convs, no bias: BN follows) + 2·h + 2·C (BN).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ablation.attention._batchnorm import BatchNorm2d
from ablation.attention.registry import ATTENTION, fit_groups


@ATTENTION.register(
    "gam",
    paper="Liu et al., Global Attention Mechanism: Retain Information to Enhance Channel-Spatial Interactions, arXiv 2021",
)
class GAM(nn.Module):
    def __init__(self, channels: int, rate: int = 4, group: bool = False) -> None:
        super().__init__()
        hidden = max(channels // rate, 1)
        self.groups = fit_groups(math.gcd(channels, hidden), rate) if group else 1
        self.channel_mlp = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
        )
        self.spatial_in = nn.Sequential(
            nn.Conv2d(channels, hidden, 7, padding=3, groups=self.groups, bias=False),
            BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
        )
        self.spatial_out = nn.Sequential(
            nn.Conv2d(hidden, channels, 7, padding=3, groups=self.groups, bias=False),
            BatchNorm2d(channels),
        )

    def _shuffle(self, x: torch.Tensor) -> torch.Tensor:
        if self.groups == 1:
            return x
        b, c, h, w = x.shape
        return x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(b, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mc = self.channel_mlp(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).sigmoid()
        x = x * mc
        ms = self.spatial_out(self._shuffle(self.spatial_in(x))).sigmoid()
        return x * ms
