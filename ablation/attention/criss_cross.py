"""Criss-Cross Attention (Huang et al., "CCNet: Criss-Cross Attention for Semantic
Segmentation", ICCV 2019).

q, k: 1x1 convs C → C', v: 1x1 conv C → C, C' = max(C/r, 1) with r = 8. Each pixel attends to the
H + W - 1 pixels of its row and column (itself counted once: the self entry of the column term is
masked), one softmax over the H + W affinities, aggregate v, output γ·out + x with γ initialised
to 0. ``recurrence`` R applies the module R times with shared weights (the paper's R = 2 lets
every pixel reach every other).
Parameters: 2·(C·C' + C') + (C² + C) + 1. Cost O(H·W·(H + W)·C) per pass.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


@ATTENTION.register(
    "criss_cross", paper="Huang et al., CCNet: Criss-Cross Attention for Semantic Segmentation, ICCV 2019"
)
class CrissCrossAttention(nn.Module):
    def __init__(self, channels: int, reduction: int = 8, recurrence: int = 1) -> None:
        super().__init__()
        if recurrence < 1:
            raise ValueError(f"recurrence must be at least 1, got {recurrence}.")
        inner = max(channels // reduction, 1)
        self.recurrence = recurrence
        self.query = nn.Conv2d(channels, inner, 1)
        self.key = nn.Conv2d(channels, inner, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, H + W) weights of pixel (i, j): column positions (k, j) first, then row (i, k)."""
        q, k = self.query(x), self.key(x)
        h = x.shape[2]
        e_col = torch.einsum("bcij,bckj->bijk", q, k)
        self_mask = torch.eye(h, dtype=torch.bool, device=x.device).view(h, 1, h)
        e_col = e_col.masked_fill(self_mask, torch.finfo(e_col.dtype).min)
        e_row = torch.einsum("bcij,bcik->bijk", q, k)
        return torch.cat((e_col, e_row.to(e_col.dtype)), -1).softmax(-1)

    def step(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[2]
        v = self.value(x)
        a = self.attention(x).to(v.dtype)
        out = torch.einsum("bijk,bckj->bcij", a[..., :h], v) + torch.einsum("bijk,bcik->bcij", a[..., h:], v)
        return (self.gamma * out + x).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.recurrence):
            x = self.step(x)
        return x
