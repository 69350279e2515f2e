"""Channel Prior Convolutional Attention (Huang et al., "Channel prior convolutional attention
for medical image segmentation", Computers in Biology and Medicine 178, 2024).

x ← GELU(P(x)) with P a 1x1 conv; channel prior: x ← x · (σ(MLP(mean x)) + σ(MLP(max x))) (one
shared MLP C → C/r → C with biases, ReLU); spatial attention from multi-scale depthwise strip
convolutions: d = DW5x5(x), s = d + Σ_k DW(k x 1)(DW(1 x k)(d)) for k = 7, 11, 21;
y = P(P(s) · x). The 1x1 conv P is one layer used three times, as in the official code.

Official code: https://github.com/Cuthbert-Huang/CPCANet
(``CPCANet/nnunet/network_architecture/CPCANet.py``, ``RepBlock(C, C, channelAttention_reduce=4)``
with its ``ChannelAttention``). Parameters: (C² + C) + (C·C/4 + C/4) + (C/4·C + C) + 26C
+ 2·(8C + 12C + 22C) = 1.5C² + 112.25C: 13328 at 64 channels, 127040 at 256; asserted in
``tests/attention/test_cpca.py``.
What we do instead: global average and max pooling are ``mean`` and ``amax`` over H, W rather than
``adaptive_avg_pool2d``/``adaptive_max_pool2d`` (same values; deterministic CUDA backward).
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


@ATTENTION.register(
    "cpca",
    paper="Huang et al., Channel prior convolutional attention for medical image segmentation, Comput. Biol. Med. 178, 2024",
)
class CPCA(nn.Module):
    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))
        self.dw5 = nn.Conv2d(channels, channels, 5, padding=2, groups=channels)
        self.strips = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, (1, k), padding=(0, k // 2), groups=channels),
                nn.Conv2d(channels, channels, (k, 1), padding=(k // 2, 0), groups=channels),
            )
            for k in (7, 11, 21)
        )
        self.proj = nn.Conv2d(channels, channels, 1)
        self.act = nn.GELU()

    def channel_prior(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean((2, 3), keepdim=True)).sigmoid() + self.fc(x.amax((2, 3), keepdim=True)).sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.proj(x))
        x = x * self.channel_prior(x)
        d = self.dw5(x)
        spatial = d + sum(strip(d) for strip in self.strips)
        return self.proj(self.proj(spatial) * x)
