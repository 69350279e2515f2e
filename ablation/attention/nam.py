"""Normalization-based Attention Module (Liu et al., "NAM: Normalization-based Attention
Module", NeurIPS 2021 ImageNet PPF workshop, arXiv 2111.12419), channel submodule.

Mc = sigmoid(W_γ · BN(x)), W_γ = |γ| / Σ|γ| from the BN scale factors γ (a channel's γ measures
its variance, so the attention learns no weights of its own); output = Mc · x.
Multiplicative form, no residual: the paper's equation is Mc = sigmoid(W_γ(BN(F1))) and the
official code returns ``sigmoid(x) * residual`` where "residual" is just the saved input, i.e.
Mc · F1 — adding F1 on top would be a different module. Differences from the paper:
- only the channel submodule (as in the official release); the pixel-normalisation spatial
  submodule and the L1 penalty on γ that the paper adds to the training loss are not included;
- W_γ is differentiable (the equation as written); the official code reads ``weight.data``, so
  there γ gets gradient through BN only.
W_γ is computed in float32 (1/C is near float16's subnormal range at C = 1024).
The BN uses its running statistics in the one case where batch statistics are undefined (a 1x1
map at batch 1 in training), where torch would raise.
Parameters: 2C (BN affine γ, β).
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention._batchnorm import BatchNorm2d
from ablation.attention.registry import ATTENTION


@ATTENTION.register("nam", paper="Liu et al., NAM: Normalization-based Attention Module, arXiv 2111.12419, 2021")
class NAM(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bn = BatchNorm2d(channels)

    def channel_weights(self) -> torch.Tensor:
        """W_γ = |γ| / Σ|γ|, shape (C,), float32."""
        gamma = self.bn.weight.float().abs()
        return gamma / gamma.sum()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.channel_weights().view(1, -1, 1, 1)
        return x * (self.bn(x) * w).sigmoid().to(x.dtype)
