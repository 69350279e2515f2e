"""Criss-Cross Attention (Huang et al., "CCNet: Criss-Cross Attention for Semantic
Segmentation", ICCV 2019).

q, k: 1x1 convs C → C/8, v: 1x1 conv C → C. Each pixel attends to the H + W - 1 pixels of its
row and column (itself counted once): affinities along the column (self masked) and the row,
one softmax over both, aggregate v, output γ·out + x with γ initialised to 0. ``recurrence`` R
applies the module R times with shared weights (the paper's R=2 reaches every pixel).
Parameters: 2·(C·C' + C') + (C² + C) + 1, C' = max(C/8, 1). Cost grows as H·W·(H+W).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ATTENTION


@ATTENTION.register("criss_cross", paper="Huang et al., CCNet: Criss-Cross Attention for Semantic Segmentation, ICCV 2019")
class CrissCrossAttention(nn.Module):
    def __init__(self, channels: int, reduction: int = 8, recurrence: int = 1) -> None:
        super().__init__()
        inner = max(channels // reduction, 1)
        self.recurrence = recurrence
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, H + W) weights: column positions first, then row positions."""
        q, k = self.query(x), self.key(x)
        h = x.shape[2]
        e_col = torch.einsum("bcij,bckj->bijk", q, k)  # (B, H, W, H): pixel (i, j) vs (k, j)
        self_mask = torch.eye(h, dtype=torch.bool, device=x.device).view(h, 1, h)
        e_col = e_col.masked_fill(self_mask, float("-inf"))
        e_row = torch.einsum("bcij,bcik->bijk", q, k)  # (B, H, W, W): pixel (i, j) vs (i, k)
        return torch.cat((e_col, e_row), -1).softmax(-1)

    def step(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[2]
        a = self.attention(x).to(x.dtype)
        v = self.value(x)
        out = torch.einsum("bijk,bckj->bcij", a[..., :h], v) + torch.einsum("bijk,bcik->bcij", a[..., h:], v)
        return self.gamma.to(x.dtype) * out + x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.recurrence):
            x = self.step(x)
        return x
