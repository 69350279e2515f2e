"""SimAM (Yang et al., "SimAM: A Simple, Parameter-Free Attention Module for Convolutional
Neural Networks", ICML 2021).

Each neuron's weight comes from the closed-form minimum of an energy function:
E = (x - μ)² / (4 (σ² + λ)) + 0.5 with σ² = Σ(x - μ)² / n, n = H·W - 1; output = x · sigmoid(E).
Parameters: 0. Statistics are computed in float32 (float16 sums of squares overflow).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ATTENTION


@ATTENTION.register("simam", paper="Yang et al., SimAM: A Simple, Parameter-Free Attention Module, ICML 2021")
class SimAM(nn.Module):
    def __init__(self, channels: int, e_lambda: float = 1e-4) -> None:
        super().__init__()
        self.e_lambda = e_lambda

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        n = max(x.shape[2] * x.shape[3] - 1, 1)
        d = (xf - xf.mean((2, 3), keepdim=True)).square()
        energy = d / (4 * (d.sum((2, 3), keepdim=True) / n + self.e_lambda)) + 0.5
        return x * energy.sigmoid().to(x.dtype)
