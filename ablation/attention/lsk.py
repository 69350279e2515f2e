"""Large Selective Kernel attention (Li et al., "Large Selective Kernel Network for Remote
Sensing Object Detection", ICCV 2023).

A large receptive field decomposed into a depthwise 5x5 conv and a depthwise 7x7 conv with
dilation 3 (23x23 in all). Each of the two features is projected to C/2 channels (1x1); their
channel-wise mean and max (2 maps) go through a 7x7 conv to two spatial selection maps
(sigmoid) that weight the two kernels per pixel; the weighted sum is projected back to C (1x1)
and multiplies the input.

Official code: https://github.com/zcablii/LSKNet (``mmrotate/models/backbones/lsknet.py``,
``LSKblock(dim)``: the selective-kernel attention; LSKNet wraps it with 1x1 projections, GELU and
a shortcut into its ``Attention`` block, which is the backbone's token mixer, not the attention
module). Parameters of ``LSKblock``: 26C + 50C + 2·(C²/2 + C/2) + 198 + (C²/2 + C) = 1.5C² + 78C
+ 198: 11334 at 64 channels, 118470 at 256; asserted in ``tests/attention/test_lsk.py``.
Nothing pools globally; the channel max is ``amax`` (deterministic backward).
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


@ATTENTION.register(
    "lsk", paper="Li et al., Large Selective Kernel Network for Remote Sensing Object Detection, ICCV 2023"
)
class LSKAttention(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        half = max(channels // 2, 1)
        self.conv0 = nn.Conv2d(channels, channels, 5, padding=2, groups=channels)
        self.conv_spatial = nn.Conv2d(channels, channels, 7, padding=9, dilation=3, groups=channels)
        self.conv1 = nn.Conv2d(channels, half, 1)
        self.conv2 = nn.Conv2d(channels, half, 1)
        self.conv_squeeze = nn.Conv2d(2, 2, 7, padding=3)
        self.conv = nn.Conv2d(half, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        small = self.conv0(x)
        large = self.conv_spatial(small)
        a1, a2 = self.conv1(small), self.conv2(large)
        both = torch.cat((a1, a2), 1)
        select = self.conv_squeeze(torch.cat((both.mean(1, keepdim=True), both.amax(1, keepdim=True)), 1)).sigmoid()
        return x * self.conv(a1 * select[:, :1] + a2 * select[:, 1:])
