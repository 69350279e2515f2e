"""Triplet Attention (Misra et al., "Rotate to Attend: Convolutional Triplet Attention Module",
WACV 2021; official code: https://github.com/landskape-ai/triplet-attention,
``triplet_attention.py``, ``TripletAttention``).

Three branches, each a gate on one pair of the (C, H, W) axes: Z-pool the remaining axis
(its max and its mean, concatenated: 2 maps), a 7x7 conv (2 → 1, no bias), BatchNorm
(momentum 0.01, as the official), sigmoid, multiply. The C-W and H-C branches rotate the tensor
so that H, resp. W, is the pooled axis (the 7x7 conv then slides over the channel axis too);
the H-W branch is CBAM's spatial gate. Output: the mean of the three gated tensors (of two
with ``no_spatial``, the paper's ablation without the H-W branch).
Parameters, from the official layer definitions: 3 × (2·7·7 + 2) = 300 at every width
(300 at 64 channels and at 256); 200 with ``no_spatial``.
Batch 1 in training: the H-W gate's BatchNorm sees one value per channel on a 1x1 map, and
falls back to its running statistics there instead of raising.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention._batchnorm import BatchNorm2d
from ablation.attention.registry import ATTENTION


class _ZPoolGate(nn.Module):
    """x · σ(BN(conv7x7([max over dim 1; mean over dim 1])))."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = BatchNorm2d(1, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat((x.amax(1, keepdim=True), x.mean(1, keepdim=True)), 1)
        return x * self.bn(self.conv(pooled)).sigmoid()


@ATTENTION.register(
    "triplet", paper="Misra et al., Rotate to Attend: Convolutional Triplet Attention Module, WACV 2021"
)
class TripletAttention(nn.Module):
    def __init__(self, channels: int, no_spatial: bool = False) -> None:
        super().__init__()
        self.cw = _ZPoolGate()  # pools H, convolves over (C, W)
        self.hc = _ZPoolGate()  # pools W, convolves over (H, C)
        self.hw = None if no_spatial else _ZPoolGate()  # pools C, convolves over (H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.cw(x.transpose(1, 2)).transpose(1, 2) + self.hc(x.transpose(1, 3)).transpose(1, 3)
        if self.hw is None:
            return out / 2
        return (out + self.hw(x)) / 3
