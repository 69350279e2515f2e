"""Double Attention (Chen et al., "A²-Nets: Double Attention Networks", NeurIPS 2018).

A = conv_A(x) (c_m maps), B = conv_B(x), V = conv_V(x) (c_n maps), all 1x1; c_m, c_n default to
max(C/4, 1). Gather: G = A · softmax(B over the H·W positions)ᵀ, c_m x c_n global descriptors.
Distribute: Z = G · softmax(V over the c_n descriptors at each position). Reconstruct c_m → C
(1x1) and add to the input: the paper's residual block, output x + conv(Z). Every softmax names
its dim (the circulating copy's dim-less softmax normalises across the batch).
Parameters: (C·c_m + c_m) + 2·(C·c_n + c_n) + (c_m·C + C), the last term absent without
``reconstruct`` (which then needs c_m = C).
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


@ATTENTION.register("a2", paper="Chen et al., A^2-Nets: Double Attention Networks, NeurIPS 2018")
class DoubleAttention(nn.Module):
    def __init__(self, channels: int, c_m: int = 0, c_n: int = 0, reconstruct: bool = True) -> None:
        super().__init__()
        self.c_m = c_m or max(channels // 4, 1)
        self.c_n = c_n or max(channels // 4, 1)
        if not reconstruct and self.c_m != channels:
            raise ValueError(f"DoubleAttention without reconstruct needs c_m == channels ({channels}), got {self.c_m}.")
        self.conv_a = nn.Conv2d(channels, self.c_m, 1)
        self.conv_b = nn.Conv2d(channels, self.c_n, 1)
        self.conv_v = nn.Conv2d(channels, self.c_n, 1)
        self.reconstruct = nn.Conv2d(self.c_m, channels, 1) if reconstruct else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        a = self.conv_a(x).reshape(b, self.c_m, h * w)
        gather = self.conv_b(x).reshape(b, self.c_n, h * w).softmax(-1)
        distribute = self.conv_v(x).reshape(b, self.c_n, h * w).softmax(1)
        z = (a @ gather.transpose(1, 2)) @ distribute
        return (x + self.reconstruct(z.reshape(b, self.c_m, h, w))).to(x.dtype)
