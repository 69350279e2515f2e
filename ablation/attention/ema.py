"""Efficient Multi-scale Attention (Ouyang et al., "Efficient Multi-Scale Attention Module with
Cross-Spatial Learning", ICASSP 2023).

Channels are split into G groups (``factor``; the largest count ≤ factor that divides C, since
yolov5n has 16-channel layers). Per group (k = C/G channels): a 1x1 branch on the H- and
W-pooled descriptors (coordinate-attention style) followed by GroupNorm, and a 3x3 branch;
cross-spatial learning: each branch's globally pooled vector, softmaxed over the group's
channels, is multiplied with the other branch's feature map, the two maps summed → sigmoid →
rescale. Nothing is mixed across the batch.
Parameters: (k² + k) + (9k² + k) + 2k = 10k² + 4k.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ATTENTION, fit_groups


@ATTENTION.register("ema", paper="Ouyang et al., Efficient Multi-Scale Attention Module with Cross-Spatial Learning, ICASSP 2023")
class EMA(nn.Module):
    def __init__(self, channels: int, factor: int = 32) -> None:
        super().__init__()
        self.groups = fit_groups(channels, factor)
        k = channels // self.groups
        self.gn = nn.GroupNorm(k, k)
        self.conv1x1 = nn.Conv2d(k, k, 1)
        self.conv3x3 = nn.Conv2d(k, k, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = x.reshape(b * self.groups, c // self.groups, h, w)
        x_h = g.mean(3, keepdim=True)
        x_w = g.mean(2, keepdim=True).transpose(2, 3)
        hw = self.conv1x1(torch.cat((x_h, x_w), 2))
        a_h, a_w = torch.split(hw, [h, w], 2)
        x1 = self.gn(g * a_h.sigmoid() * a_w.transpose(2, 3).sigmoid())
        x2 = self.conv3x3(g)
        bg, k = g.shape[:2]
        w1 = x1.mean((2, 3)).softmax(-1).unsqueeze(1)  # (bg, 1, k): over the group's channels
        w2 = x2.mean((2, 3)).softmax(-1).unsqueeze(1)
        weights = w1 @ x2.reshape(bg, k, h * w) + w2 @ x1.reshape(bg, k, h * w)
        return (g * weights.reshape(bg, 1, h, w).sigmoid()).reshape(b, c, h, w)
