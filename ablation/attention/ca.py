"""Coordinate Attention (Hou et al., "Coordinate Attention for Efficient Mobile Network Design",
CVPR 2021).

Average pool along W (→ C×H×1) and along H (→ C×1×W), concatenate along the spatial axis,
1×1 conv C → mip (mip = max(8, C/r)) + BN + h_swish, split back into the H and W parts, a 1×1 conv
mip → C and sigmoid on each, then y = x · a_h · a_w.
Parameters: (C·mip + mip) + 2·mip (BN) + 2·(mip·C + C) = 3·C·mip + 3·mip + 2·C.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


@ATTENTION.register("ca", paper="Hou et al., Coordinate Attention for Efficient Mobile Network Design, CVPR 2021")
class CoordAtt(nn.Module):
    def __init__(self, channels: int, reduction: int = 32) -> None:
        super().__init__()
        self.mip = max(8, channels // reduction)
        self.conv1 = nn.Conv2d(channels, self.mip, 1)
        self.bn1 = nn.BatchNorm2d(self.mip)  # over (B, mip, H+W, 1): H+W >= 2, so batch 1 trains
        self.act = nn.Hardswish()
        self.conv_h = nn.Conv2d(self.mip, channels, 1)
        self.conv_w = nn.Conv2d(self.mip, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        x_h = x.mean(dim=3, keepdim=True)  # (B, C, H, 1)
        x_w = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (B, C, W, 1)
        y = self.act(self.bn1(self.conv1(torch.cat((x_h, x_w), dim=2))))
        y_h, y_w = torch.split(y, (h, w), dim=2)
        a_h = self.conv_h(y_h).sigmoid()
        a_w = self.conv_w(y_w.transpose(2, 3)).sigmoid()
        return x * a_h * a_w
