"""Global Attention Mechanism (Liu et al., "Global Attention Mechanism: Retain Information to
Enhance Channel-Spatial Interactions", arXiv 2112.05561, 2021).

Channel submodule: permute to channels-last, MLP C → C/r → C, permute back, sigmoid, rescale.
Spatial submodule: 7x7 conv C → C/r + BN + ReLU, 7x7 conv C/r → C + BN, sigmoid, rescale.
Parameters (h = C/r): (C·h + h) + (h·C + C) + (49·C·h + h) + 2h + (49·h·C + C) + 2C.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ATTENTION


@ATTENTION.register("gam", paper="Liu et al., Global Attention Mechanism, arXiv 2112.05561, 2021")
class GAM(nn.Module):
    def __init__(self, channels: int, rate: int = 4) -> None:
        super().__init__()
        hidden = max(channels // rate, 1)
        self.channel = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))
        self.spatial = nn.Sequential(
            nn.Conv2d(channels, hidden, 7, padding=3), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 7, padding=3), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).sigmoid()
        return x * self.spatial(x).sigmoid()
