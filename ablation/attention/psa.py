"""Polarized Self-Attention (Liu et al., "Polarized Self-Attention: Towards High-quality
Pixel-wise Regression", arXiv 2107.00782, 2021; official code: https://github.com/DeLightCMU/PSA,
``semantic-segmentation/network/PSA.py``, classes ``PSA_p`` and ``PSA_s``).

Two branches, each keeping one dimension at full resolution and collapsing the other:
- channel-only: Wq (C → 1) scores the positions, softmax over H·W, the C/2 values Wv(x)
  (C → C/2) pooled with those weights, Wz (C/2 → C) back to C channels, sigmoid: a (B, C, 1, 1)
  gate;
- spatial-only: Wq (C → C/2) globally averaged, softmax over its C/2 channels, matrix product
  with Wv(x) (C → C/2) at every position, sigmoid: a (B, 1, H, W) gate.
``sequential=False`` (default, the paper's PSA_p): out = x·gate_ch + x·gate_sp (both from x).
``sequential=True`` (PSA_s): y = x·gate_ch(x), out = y·gate_sp(y).
Layers as the official classes, so each form has the official parameter count: every Wq/Wv is
a 1x1 conv without bias (Kaiming-normal, fan_in, as the official initialises them); Wz is one
conv C/2 → C without bias in PSA_p, and conv C/2 → C/8, LayerNorm, ReLU, conv C/8 → C (with
biases) in PSA_s (the paper's Eq. 1 has Wz then a LayerNorm in both; each official class has
the layers above).
Deviation: the spatial-only softmax is placed as the paper's Eq. 3, over the C/2 channels of the
pooled query, before the product. The official PSA_p takes the softmax over H·W after the
product, so σ(softmax) ≈ σ(1/HW) ≈ 0.5 everywhere, a near-constant gate; PSA_s takes it over
H·W of the values instead. Reported in the official repository's issue #5, unanswered.
Global means are ``mean`` (not AdaptiveAvgPool2d); both softmaxes run in float32.
Parameters, from the official layer definitions:
PSA_p: C + 4·(C·C/2) = 2C² + C: 8256 at 64 channels, 131328 at 256;
PSA_s: C + 3·(C·C/2) + (C/2·C/8 + C/8) + 2·C/8 + (C/8·C + C) = 27C²/16 + 19C/8: 7064 at 64, 111200 at 256.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


def _conv1x1(c_in: int, c_out: int) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, 1, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
    return conv


@ATTENTION.register(
    "psa", paper="Liu et al., Polarized Self-Attention: Towards High-quality Pixel-wise Regression, 2021"
)
class PolarizedSelfAttention(nn.Module):
    def __init__(self, channels: int, sequential: bool = False) -> None:
        super().__init__()
        inner = max(channels // 2, 1)
        self.sequential = sequential
        self.ch_q, self.ch_v = _conv1x1(channels, 1), _conv1x1(channels, inner)
        if sequential:
            hidden = max(inner // 4, 1)
            self.ch_z: nn.Module = nn.Sequential(
                nn.Conv2d(inner, hidden, 1),
                nn.LayerNorm([hidden, 1, 1]),
                nn.ReLU(inplace=True),
                nn.Conv2d(hidden, channels, 1),
            )
        else:
            self.ch_z = nn.Conv2d(inner, channels, 1, bias=False)
        self.sp_q, self.sp_v = _conv1x1(channels, inner), _conv1x1(channels, inner)

    def channel_gate(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, 1, 1): the values pooled with softmax weights over H·W, mapped back to C."""
        b, _, h, w = x.shape
        weights = self.ch_q(x).reshape(b, h * w, 1).float().softmax(1).to(x.dtype)
        pooled = self.ch_v(x).reshape(b, -1, h * w) @ weights
        return self.ch_z(pooled.unsqueeze(-1)).sigmoid()

    def spatial_gate(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W): the values mixed at every position by the softmax of the pooled query."""
        b, _, h, w = x.shape
        query = self.sp_q(x).mean((2, 3)).float().softmax(-1).to(x.dtype).unsqueeze(1)
        return (query @ self.sp_v(x).reshape(b, -1, h * w)).reshape(b, 1, h, w).sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sequential:
            y = x * self.channel_gate(x)
            return y * self.spatial_gate(y)
        return x * self.channel_gate(x) + x * self.spatial_gate(x)
