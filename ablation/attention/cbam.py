"""Convolutional Block Attention Module (Woo et al., "CBAM: Convolutional Block Attention Module",
ECCV 2018).

Channel attention Mc = σ(MLP(AvgPool(x)) + MLP(MaxPool(x))), one MLP (C → C/r → C, ReLU) shared
by both descriptors; then spatial attention Ms = σ(conv_k×k([mean_c(x'); max_c(x')])) on
x' = x·Mc. Output x'' = x·Mc·Ms, applied sequentially with no residual added.
Parameters: 2·C·(C/r) + C/r + C (MLP with biases) + 2·k² + 1 (spatial conv with bias).
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


@ATTENTION.register("cbam", paper="Woo et al., CBAM: Convolutional Block Attention Module, ECCV 2018")
class CBAM(nn.Module):
    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"CBAM kernel_size must be odd to keep the spatial size, got {kernel_size}.")
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
        )
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def channel_map(self, x: torch.Tensor) -> torch.Tensor:
        """Mc(x), shape (B, C, 1, 1)."""
        return (self.mlp(x.mean((2, 3), keepdim=True)) + self.mlp(x.amax((2, 3), keepdim=True))).sigmoid()

    def spatial_map(self, x: torch.Tensor) -> torch.Tensor:
        """Ms(x), shape (B, 1, H, W)."""
        pooled = torch.cat((x.mean(1, keepdim=True), x.amax(1, keepdim=True)), dim=1)
        return self.spatial(pooled).sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel_map(x)
        return x * self.spatial_map(x)
