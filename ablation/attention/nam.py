"""Normalization-based Attention Module (Liu et al., "NAM: Normalization-based Attention
Module", NeurIPS 2021 workshop, arXiv 2111.12419), channel submodule.

Mc = sigmoid(W_γ · BN(x)) with W_γ = |γ| / Σ|γ| (the BN scale factors measure each channel's
variance, so no extra weights are learned); output = Mc · x (the multiplicative form of the
paper's equation; the module adds no residual of its own).
Parameters: 2C (BN affine).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ATTENTION


@ATTENTION.register("nam", paper="Liu et al., NAM: Normalization-based Attention Module, arXiv 2111.12419, 2021")
class NAM(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=True)

    def channel_weights(self) -> torch.Tensor:
        gamma = self.bn.weight.abs()
        return gamma / gamma.sum()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.channel_weights().to(x.dtype).view(1, -1, 1, 1)
        return x * (self.bn(x) * w).sigmoid()
