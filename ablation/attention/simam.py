"""SimAM (Yang et al., "SimAM: A Simple, Parameter-Free Attention Module for Convolutional Neural
Networks", ICML 2021).

Per channel, with n = H·W − 1, μ the spatial mean and σ² = Σ(x−μ)²/n, the inverse minimal energy
of each neuron is e = (x−μ)² / (4(σ² + λ)) + 0.5 and y = x · sigmoid(e).
Parameters: 0.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


@ATTENTION.register("simam", paper="Yang et al., SimAM: A Simple, Parameter-Free Attention Module for CNNs, ICML 2021")
class SimAM(nn.Module):
    def __init__(self, channels: int, e_lambda: float = 1e-4) -> None:
        super().__init__()
        self.e_lambda = e_lambda

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = max(x.shape[2] * x.shape[3] - 1, 1)  # a 1×1 map has no neighbours: avoid 0/0
        xf = x.float()  # in float16 the sum of squares overflows on large maps
        d = (xf - xf.mean((2, 3), keepdim=True)).square()
        e = d / (4 * (d.sum((2, 3), keepdim=True) / n + self.e_lambda)) + 0.5
        return x * e.sigmoid().to(x.dtype)
