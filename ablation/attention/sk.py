"""Selective Kernel attention (Li et al., "Selective Kernel Networks", CVPR 2019).

Split: M branches of grouped 3x3 convolutions with dilation 1..M (the paper's efficient form of
3x3, 5x5, ... kernels) + BN + ReLU. Fuse: sum, global average, FC C → d (d = max(C/r, L)) +
ReLU. Select: M FCs d → C, softmax across the branches, weighted sum. The fuse FC has no BN
(the paper has one): on a (B, d, 1, 1) vector BN cannot train at batch 1, which preflight uses.
Group count: the largest ≤ ``groups`` dividing C.
Parameters: M·(9·C·C/G + 2C) + (C·d + d) + M·(d·C + C).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ATTENTION, fit_groups


@ATTENTION.register("sk", paper="Li et al., Selective Kernel Networks, CVPR 2019")
class SKAttention(nn.Module):
    def __init__(self, channels: int, branches: int = 2, groups: int = 32, reduction: int = 16, min_dim: int = 32) -> None:
        super().__init__()
        self.groups = fit_groups(channels, groups)
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=m + 1, dilation=m + 1, groups=self.groups, bias=False),
                nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            )
            for m in range(branches)
        )
        d = max(channels // reduction, min_dim)
        self.fuse = nn.Sequential(nn.Conv2d(channels, d, 1), nn.ReLU(inplace=True))
        self.select = nn.Conv2d(d, channels * branches, 1)

    def branch_weights(self, u: torch.Tensor) -> torch.Tensor:
        """(B, M, C, 1, 1) attention over the branches; sums to 1 across M."""
        s = self.select(self.fuse(u.sum(1).mean((2, 3), keepdim=True)))
        return s.reshape(u.shape[0], len(self.branches), -1, 1, 1).softmax(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = torch.stack([branch(x) for branch in self.branches], 1)  # (B, M, C, H, W)
        return (u * self.branch_weights(u)).sum(1)
