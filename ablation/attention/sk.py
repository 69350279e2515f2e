"""Selective Kernel attention (Li et al., "Selective Kernel Networks", CVPR 2019).

Split: M branches of grouped 3x3 convolutions with dilation 1..M (the paper's efficient form of
3x3, 5x5, ... kernels: a dilated 3x3 replaces the 5x5), each conv (no bias) + BN + ReLU.
Fuse: U = sum of the branches, s = mean over H·W, z = ReLU(BN(W s)) with W: C → d,
d = max(C // r, L). Select: M matrices d → C, softmax across the M branches per channel,
output = Σ_m a_m · U_m (same shape as the input). Linear maps have no bias, as in the paper.
Batch 1 in training: BN needs more than one value per channel; the fuse BN sees a (B, d, 1, 1)
vector, so every BN here falls back to its running statistics when a training batch holds one
value per channel (batch 1 on the squeeze vector, or on a 1x1 map) instead of raising. Larger
batches use the paper's batch statistics unchanged.
G = fit_groups(C, groups): the largest count ≤ ``groups`` dividing C (16 channels → 16,
depthwise). The branch softmax runs in float32.
Parameters: M·(9·C·C/G + 2C) (branches) + C·d + 2d (fuse) + M·d·C (select).
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention._batchnorm import BatchNorm2d
from ablation.attention.registry import ATTENTION, fit_groups


@ATTENTION.register("sk", paper="Li et al., Selective Kernel Networks, CVPR 2019")
class SKAttention(nn.Module):
    def __init__(
        self, channels: int, branches: int = 2, groups: int = 32, reduction: int = 16, min_dim: int = 32
    ) -> None:
        super().__init__()
        self.groups = fit_groups(channels, groups)
        self.num_branches = branches
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=m, dilation=m, groups=self.groups, bias=False),
                BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            )
            for m in range(1, branches + 1)
        )
        self.dim = max(channels // reduction, min_dim)
        self.fuse = nn.Sequential(
            nn.Conv2d(channels, self.dim, 1, bias=False), BatchNorm2d(self.dim), nn.ReLU(inplace=True)
        )
        self.select = nn.Conv2d(self.dim, channels * branches, 1, bias=False)

    def branch_weights(self, u: torch.Tensor) -> torch.Tensor:
        """(B, M, C, 1, 1) attention over the branches of u (B, M, C, H, W); sums to 1 across M."""
        logits = self.select(self.fuse(u.sum(1).mean((2, 3), keepdim=True)))
        return logits.reshape(u.shape[0], self.num_branches, -1, 1, 1).float().softmax(1).to(u.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = torch.stack([branch(x) for branch in self.branches], 1)
        return (u * self.branch_weights(u)).sum(1)
