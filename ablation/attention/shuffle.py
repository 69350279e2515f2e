"""Shuffle Attention (Zhang & Yang, "SA-Net: Shuffle Attention for Deep Convolutional Neural
Networks", ICASSP 2021).

Channels are split into G groups, each group in two halves of k = C/(2G) channels: the channel
half is rescaled by sigmoid(w_c · mean + b_c), the spatial half by sigmoid(w_s · GN(x) + b_s);
the halves are concatenated and the channels shuffled (2 groups). G is the largest count ≤
``groups`` with C divisible by 2G (the paper's G=64 does not fit yolov5n's 16-channel layers).
Parameters: 4k (w_c, b_c, w_s, b_s) + 2k (GroupNorm affine) = 6k.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ATTENTION, fit_groups


@ATTENTION.register("shuffle", paper="Zhang & Yang, SA-Net: Shuffle Attention for Deep CNNs, ICASSP 2021")
class ShuffleAttention(nn.Module):
    def __init__(self, channels: int, groups: int = 64) -> None:
        super().__init__()
        self.groups = fit_groups(channels, groups, multiple=2)
        k = channels // (2 * self.groups)
        self.gn = nn.GroupNorm(k, k)
        self.cweight = nn.Parameter(torch.zeros(1, k, 1, 1))
        self.cbias = nn.Parameter(torch.ones(1, k, 1, 1))
        self.sweight = nn.Parameter(torch.zeros(1, k, 1, 1))
        self.sbias = nn.Parameter(torch.ones(1, k, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b * self.groups, c // self.groups, h, w)
        x_c, x_s = x.chunk(2, 1)
        x_c = x_c * (self.cweight * x_c.mean((2, 3), keepdim=True) + self.cbias).sigmoid()
        x_s = x_s * (self.sweight * self.gn(x_s) + self.sbias).sigmoid()
        out = torch.cat((x_c, x_s), 1).reshape(b, c, h, w)
        return out.reshape(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)  # channel shuffle
