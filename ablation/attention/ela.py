"""Efficient Local Attention (Xu & Wan, "ELA: Efficient Local Attention for Deep Convolutional
Neural Networks", arXiv 2403.01123, 2024).

Coordinate-attention-like, without the channel reduction: the map is averaged along W (one
C x H strip) and along H (one C x W strip); each strip goes through the same depthwise 1-D
convolution (kernel k, no bias), GroupNorm and a sigmoid, and the two gates rescale the input:
``y = x * sigmoid(GN(conv(mean_W x))) * sigmoid(GN(conv(mean_H x)))``.

Official code: the authors publish no repository; the reference implementation is the PyTorch
listing in the paper (``ELA(channel, kernel_size=7)``: ``Conv1d(C, C, 7, groups=C, bias=False)``
and ``GroupNorm(16, C)``, the ELA-B/L setting). Parameters: k·C + 2C = 9C at the defaults
(576 at 64 channels, 2304 at 256), asserted in ``tests/attention/test_ela.py``.
Deviation: 16 groups need C divisible by 16; a width that is not (24, 40, 48 ... inside the C3s
of yolov5m/x) would crash the listing, so G = ``fit_groups(C, groups)``, the largest count
<= 16 that divides C (the paper's own ELA-T variant changes the group count too). A 1-pixel
strip with one channel per group (a 1x1 map in yolov5n: preflight's 64 px at stride 64) leaves
one value per group, which torch's GroupNorm refuses; its normalised value is 0 by definition,
so the gate is sigmoid(bias) there.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION, fit_groups


@ATTENTION.register(
    "ela",
    paper="Xu & Wan, ELA: Efficient Local Attention for Deep Convolutional Neural Networks, arXiv 2403.01123, 2024",
)
class ELA(nn.Module):
    def __init__(self, channels: int, kernel_size: int = 7, groups: int = 16) -> None:
        super().__init__()
        self.groups = fit_groups(channels, groups)
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, bias=False)
        self.gn = nn.GroupNorm(self.groups, channels)

    def gate(self, strip: torch.Tensor) -> torch.Tensor:
        """(B, C, L) → (B, C, L) gate in (0, 1)."""
        y = self.conv(strip)
        if y.shape[1] // self.groups * y.shape[2] == 1:
            # one value per group (a 1-pixel strip, one channel per group): torch refuses to
            # normalise it, but its normalised value is 0 by definition, so GN returns its bias.
            return ((y - y) * self.gn.weight[:, None] + self.gn.bias[:, None]).sigmoid()
        return self.gn(y).sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a_h = self.gate(x.mean(3)).unsqueeze(3)
        a_w = self.gate(x.mean(2)).unsqueeze(2)
        return x * a_h * a_w
