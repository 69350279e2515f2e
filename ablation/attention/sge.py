"""Spatial Group-wise Enhance (Li et al., "Spatial Group-wise Enhance: Improving Semantic Feature
Learning in Convolutional Networks", arXiv 1905.09646, 2019; official code:
https://github.com/implus/PytorchInsight, ``classification/models/imagenet/resnet_sge.py``,
``SpatialGroupEnhance``).

Channels are split into G groups. Per group and sample: g = the group's mean over H·W (one value
per channel), c_i = g · x_i at every position i, c normalised over the positions (minus its mean,
divided by its unbiased std + 1e-5), a_i = γ·ĉ_i + β (one γ, β per group), out = x · σ(a).
γ starts at 0 and β at 1, as the official.
G = fit_groups(C, groups), default 64 as the official: the largest count ≤ 64 dividing C
(16 channels → 16 groups of one channel).
Deviations, none of which changes a value the official computes on a map of 2+ positions:
- the global mean is ``mean`` rather than AdaptiveAvgPool2d (deterministic CUDA backward);
- a 1x1 map: the unbiased std of one value is 0/0, NaN in the official; here ĉ = 0 (the
  centred value is 0), so the gate is σ(β);
- the normalisation runs in float32, so ``.half()`` models do not overflow the variance.
Parameters: 2G, as the official: 128 at 64 channels and at 256.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION, fit_groups


@ATTENTION.register(
    "sge",
    paper="Li et al., Spatial Group-wise Enhance: Improving Semantic Feature Learning in Convolutional Networks, 2019",
)
class SpatialGroupEnhance(nn.Module):
    def __init__(self, channels: int, groups: int = 64) -> None:
        super().__init__()
        self.groups = fit_groups(channels, groups)
        self.weight = nn.Parameter(torch.zeros(1, self.groups, 1, 1))
        self.bias = nn.Parameter(torch.ones(1, self.groups, 1, 1))

    def importance(self, x: torch.Tensor) -> torch.Tensor:
        """(B, G, H, W): each position's similarity to its group's mean, normalised over H·W."""
        b, c, h, w = x.shape
        g = x.reshape(b, self.groups, c // self.groups, h, w)
        sim = (g * g.mean((3, 4), keepdim=True)).sum(2).reshape(b, self.groups, h * w).float()
        sim = sim - sim.mean(-1, keepdim=True)
        std = sim.std(-1, keepdim=True, correction=min(1, h * w - 1))
        return (sim / (std + 1e-5)).to(x.dtype).reshape(b, self.groups, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        gate = (self.importance(x) * self.weight + self.bias).sigmoid()
        return (x.reshape(b, self.groups, c // self.groups, h, w) * gate.unsqueeze(2)).reshape(b, c, h, w)
