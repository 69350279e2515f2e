"""Efficient Multi-scale Attention (Ouyang et al., "Efficient Multi-Scale Attention Module with
Cross-Spatial Learning", ICASSP 2023).

Channels are reshaped into G groups of k = C/G channels folded into the batch axis, so nothing
is mixed across samples (GroupNorm, not BatchNorm). Per group:
- 1x1 branch: mean over W and mean over H (the H- and W-pooled descriptors), concatenated, a
  shared 1x1 conv, split, sigmoid, rescale the group, GroupNorm(k, k) → x1;
- 3x3 branch: a 3x3 conv → x2;
- cross-spatial learning: each branch's global mean (k values) is softmaxed over the group's k
  channels and matrix-multiplied with the other branch's (k, H·W) map; the two (1, H·W) maps
  are summed, passed through a sigmoid and rescale the group.
G = fit_groups(C, factor): the largest count ≤ factor leaving a whole number k ≥ 1 of channels
per group (16 channels with factor 32 → 16 groups of 1 channel, where the softmax over one
channel is 1 and the cross-spatial map reduces to the sum of the two branches).
The softmax runs in float32 so ``.half()`` models stay close to their float32 reference.
Parameters: (k² + k) (1x1 conv) + (9k² + k) (3x3 conv) + 2k (GroupNorm) = 10k² + 4k.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION, fit_groups


@ATTENTION.register(
    "ema",
    paper="Ouyang et al., Efficient Multi-Scale Attention Module with Cross-Spatial Learning, ICASSP 2023",
)
class EMA(nn.Module):
    def __init__(self, channels: int, factor: int = 32) -> None:
        super().__init__()
        self.groups = fit_groups(channels, factor)
        k = channels // self.groups
        self.gn = nn.GroupNorm(k, k)
        self.conv1x1 = nn.Conv2d(k, k, 1)
        self.conv3x3 = nn.Conv2d(k, k, 3, padding=1)

    @staticmethod
    def _channel_softmax(x: torch.Tensor) -> torch.Tensor:
        """(N, k, H, W) → (N, 1, k): softmax of the global means over the k channels."""
        return x.float().mean((2, 3)).softmax(-1).to(x.dtype).unsqueeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = x.reshape(b * self.groups, c // self.groups, h, w)
        x_h = g.mean(3, keepdim=True)
        x_w = g.mean(2, keepdim=True).transpose(2, 3)
        a_h, a_w = self.conv1x1(torch.cat((x_h, x_w), 2)).split([h, w], 2)
        x1 = self.gn(g * a_h.sigmoid() * a_w.transpose(2, 3).sigmoid())
        x2 = self.conv3x3(g)
        n, k = g.shape[:2]
        weights = self._channel_softmax(x1) @ x2.reshape(n, k, h * w)
        weights = weights + self._channel_softmax(x2) @ x1.reshape(n, k, h * w)
        return (g * weights.reshape(n, 1, h, w).sigmoid()).reshape(b, c, h, w)
