"""Efficient Channel Attention (Wang et al., "ECA-Net: Efficient Channel Attention for Deep
Convolutional Neural Networks", CVPR 2020).

Global average pool → 1-D convolution across channels (kernel k, no bias, no dimensionality
reduction) → sigmoid → channel rescale. The kernel size adapts to the width (paper, Eq. 12):
k = ψ(C) = |log2(C)/γ + b/γ|_odd, the nearest odd number (γ=2, b=1: C=64 → 3, C=256 → 5).
Parameters: k.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


def adaptive_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """ψ(C): the odd number nearest to |log2(C)/γ + b/γ| (ties go up, as the authors' code)."""
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


@ATTENTION.register("eca", paper="Wang et al., ECA-Net: Efficient Channel Attention for Deep CNNs, CVPR 2020")
class ECA(nn.Module):
    def __init__(self, channels: int, gamma: int = 2, b: int = 1, k_size: int = 0) -> None:
        super().__init__()
        if k_size < 0 or (k_size > 0 and k_size % 2 == 0):
            raise ValueError(f"ECA k_size must be 0 (adaptive) or a positive odd number, got {k_size}.")
        self.k_size = k_size or adaptive_kernel_size(channels, gamma, b)
        self.conv = nn.Conv1d(1, 1, self.k_size, padding=(self.k_size - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.mean((2, 3)).unsqueeze(1))  # (B, 1, C): neighbouring channels interact
        return x * y.sigmoid().transpose(1, 2).unsqueeze(-1)
