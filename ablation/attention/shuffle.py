"""Shuffle Attention (Zhang & Yang, "SA-Net: Shuffle Attention for Deep Convolutional Neural
Networks", ICASSP 2021).

Channels are split into G groups folded into the batch axis, each group into two halves of
k = C/(2G) channels:
- channel half: x · sigmoid(cweight · mean_HW(x) + cbias);
- spatial half: x · sigmoid(sweight · GroupNorm(k, k)(x) + sbias);
the halves are concatenated, the groups unfolded and the channels shuffled with 2 groups so the
two halves' information mixes in the next layer. cweight/sweight start at 0 and cbias/sbias at
1, as in the official code. Only per-sample statistics are used: nothing mixes across the batch.
G = fit_groups(C, groups, multiple=2): the largest count ≤ ``groups`` with C divisible by 2G, so
k ≥ 1 (the paper's G = 64 needs C ≥ 128; yolov5n's 16-channel layers get G = 8, k = 1).
Parameters: 4k (cweight, cbias, sweight, sbias) + 2k (GroupNorm affine) = 6k = 3C/G.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION, fit_groups


@ATTENTION.register(
    "shuffle",
    paper="Zhang & Yang, SA-Net: Shuffle Attention for Deep Convolutional Neural Networks, ICASSP 2021",
)
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

    @staticmethod
    def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
        b, c, h, w = x.shape
        return x.reshape(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x_c, x_s = x.reshape(b * self.groups, c // self.groups, h, w).chunk(2, 1)
        x_c = x_c * (self.cweight * x_c.mean((2, 3), keepdim=True) + self.cbias).sigmoid()
        x_s = x_s * (self.sweight * self.gn(x_s) + self.sbias).sigmoid()
        return self.channel_shuffle(torch.cat((x_c, x_s), 1).reshape(b, c, h, w), 2)
