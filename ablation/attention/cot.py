"""Contextual Transformer block (Li et al., "Contextual Transformer Networks for Visual
Recognition", TPAMI 2022; official code: https://github.com/JDAI-CV/CoTNet, ``models/cotnet.py``,
``CotLayer``; the local aggregation kernel in ``cupy_layers/aggregation_zeropad.py``).

Not a gate: CoT replaces a 3x3 conv (in CoTNet, the one inside every ResNet bottleneck), so
its output is a new feature map of the input's shape, not x rescaled.
- keys: K1 = ReLU(BN(grouped k×k conv(x))), 4 groups, no bias (the static context);
- attention: A = GroupNorm(conv1x1(ReLU(BN(conv1x1([x; K1]))))): C/2 hidden channels, then
  k²·C/8 outputs, one k×k kernel per position for each of C/8 weight channels (GroupNorm with
  C/8 groups of k² channels);
- values V = BN(conv1x1(x)); K2 = SiLU(BN(local aggregation of V with A)): channel c at a
  position is the sum of its k×k zero-padded neighbourhood weighted by A's kernel for weight
  channel c mod C/8 at that position (the official CUDA kernel's indexing);
- fusion as split attention: s = mean over H·W of K1 + K2, an MLP (C → max(C/2, 32) → 2C, BN +
  ReLU in between) gives two logits per channel, softmax over the pair, out = a1·K2 + a2·K1.
Deviations from the official:
- the local aggregation is a custom CuPy kernel there (CUDA only); here a sum over the k² taps
  of shifted views of the zero-padded values, each times its kernel tap: equal to it (the
  official's own test checks its kernel against the same sum written with ``unfold``), on every
  device, with deterministic kernels only (slicing, products, sums), and ~10x faster on CPU
  than materialising the k²-fold ``unfold``;
- every BN falls back to its running statistics where a training batch holds one value per
  channel (the split-attention MLP at batch 1, any map at batch 1 and 1x1) instead of raising;
- the softmax over the pair runs in float32.
C must be a multiple of 8 (C/8 weight channels, 4 key groups): every yolov5 n/s/m/l/x width is.
Parameters, from the official layer definitions with k = 3 and a = max(C/2, 32):
keys 9C·C/4 + 2C; attention 2C·C/2 + C + (C/2)(9C/8) + 9C/8 + 2·9C/8; values C² + 2C; BN 2C;
fusion C·a + a + 2a + 2a·C + 2C: 26744 at 64 channels, 417248 at 256.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ablation.attention._batchnorm import BatchNorm2d
from ablation.attention.registry import ATTENTION

SHARE = 8  # channels sharing one attention kernel, as the official ``share_planes``
KEY_GROUPS = 4


@ATTENTION.register("cot", paper="Li et al., Contextual Transformer Networks for Visual Recognition, TPAMI 2022")
class CoT(nn.Module):
    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        if channels % SHARE:
            raise ValueError(
                f"CoT needs a multiple of {SHARE} channels (it shares one attention kernel per {SHARE}), "
                f"got {channels}; place it after a layer whose width is a multiple of {SHARE}."
            )
        if kernel_size % 2 == 0:
            raise ValueError(f"CoT kernel_size must be odd to keep the spatial size, got {kernel_size}.")
        self.kernel_size = kernel_size
        kernels = kernel_size * kernel_size * channels // SHARE
        self.key = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=KEY_GROUPS, bias=False),
            BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )
        self.attention = nn.Sequential(
            nn.Conv2d(2 * channels, channels // 2, 1, bias=False),
            BatchNorm2d(channels // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // 2, kernels, 1),
            nn.GroupNorm(channels // SHARE, kernels),
        )
        self.value = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), BatchNorm2d(channels))
        self.bn = BatchNorm2d(channels)
        self.act = nn.SiLU(inplace=True)
        hidden = max(channels // 2, 32)
        self.fusion = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 2 * channels, 1),
        )

    def aggregate(self, v: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
        """Channel c: its zero-padded k×k neighbourhood in ``v`` weighted by ``kernels``' weight
        channel c mod C/8, position by position. kernels: (B, C/8 · k², H, W)."""
        b, c, h, w = v.shape
        k = self.kernel_size
        padded = F.pad(v, (k // 2,) * 4).reshape(b, SHARE, c // SHARE, h + k - 1, w + k - 1)
        kernels = kernels.reshape(b, 1, c // SHARE, k * k, h, w)
        out = padded[..., :h, :w] * kernels[:, :, :, 0]
        for tap in range(1, k * k):  # one shifted view per tap: no k²-fold copy of v (unfold)
            dy, dx = divmod(tap, k)
            out = out + padded[..., dy : dy + h, dx : dx + w] * kernels[:, :, :, tap]
        return out.reshape(b, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        static = self.key(x)
        kernels = self.attention(torch.cat((x, static), 1))
        dynamic = self.act(self.bn(self.aggregate(self.value(x), kernels)))
        logits = self.fusion((dynamic + static).mean((2, 3), keepdim=True))
        weights = logits.reshape(b, c, 2, 1, 1).float().softmax(2).to(x.dtype)
        return dynamic * weights[:, :, 0] + static * weights[:, :, 1]
