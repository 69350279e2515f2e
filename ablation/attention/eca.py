"""Efficient Channel Attention (Wang et al., "ECA-Net: Efficient Channel Attention for Deep
Convolutional Neural Networks", CVPR 2020).

Global average pool → 1-D convolution across channels with kernel ``k`` → sigmoid → rescale.
``k`` adapts to the width as in the paper: k = |log2(C)/γ + b/γ| rounded to the nearest odd
number (γ=2, b=1), so a 256-channel layer gets k=5 and a 64-channel one k=3.
Parameters: k (no bias).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .registry import ATTENTION


def adaptive_kernel(channels: int, gamma: int = 2, b: int = 1) -> int:
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


@ATTENTION.register("eca", paper="Wang et al., ECA-Net: Efficient Channel Attention for Deep CNNs, CVPR 2020")
class ECA(nn.Module):
    def __init__(self, channels: int, k_size: int = 0, gamma: int = 2, b: int = 1) -> None:
        super().__init__()
        if k_size < 0 or (k_size and k_size % 2 == 0):
            raise ValueError(f"ECA k_size must be 0 (adaptive) or a positive odd number, got {k_size}.")
        self.k = k_size or adaptive_kernel(channels, gamma, b)
        self.conv = nn.Conv1d(1, 1, self.k, padding=self.k // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.mean((2, 3)).unsqueeze(1))  # (B, 1, C)
        return x * y.sigmoid().transpose(1, 2).unsqueeze(-1)
