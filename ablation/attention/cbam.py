"""Convolutional Block Attention Module (Woo et al., "CBAM: Convolutional Block Attention
Module", ECCV 2018).

Channel attention: a shared MLP (C → C/r → C) on the average- and max-pooled descriptors,
summed, sigmoid. Then spatial attention: channel-wise mean and max (2 maps) → 7x7 conv → sigmoid.
Output = x · Mc · Ms, applied in sequence, with no residual added (the paper's module; a
residual belongs to the block it sits in) and the paper's 7x7 kernel (not 49).
Parameters: 2·C·(C/r) + 2·k².
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ATTENTION


@ATTENTION.register("cbam", paper="Woo et al., CBAM: Convolutional Block Attention Module, ECCV 2018")
class CBAM(nn.Module):
    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"CBAM kernel_size must be odd (the paper uses 7), got {kernel_size}.")
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1, bias=False)
        )
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mc = (self.mlp(x.mean((2, 3), keepdim=True)) + self.mlp(x.amax((2, 3), keepdim=True))).sigmoid()
        x = x * mc
        ms = self.spatial(torch.cat((x.mean(1, keepdim=True), x.amax(1, keepdim=True)), 1)).sigmoid()
        return x * ms
