"""Squeeze-and-Excitation (Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018).

Global average pool → FC(C → C/r) → ReLU → FC(C/r → C) → sigmoid → channel rescale.
Parameters: 2·C·(C/r) weights + C/r + C biases.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


@ATTENTION.register("se", paper="Hu et al., Squeeze-and-Excitation Networks, CVPR 2018")
class SE(nn.Module):
    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # mean() rather than AdaptiveAvgPool2d: its CUDA backward is deterministic.
        return x * self.fc(x.mean((2, 3), keepdim=True))
