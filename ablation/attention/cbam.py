"""Convolutional Block Attention Module (Woo et al., "CBAM: Convolutional Block Attention Module",
ECCV 2018).

Channel attention Mc = σ(MLP(AvgPool(x)) + MLP(MaxPool(x))), one MLP (C → C/r → C, ReLU) shared
by both descriptors; then spatial attention Ms = σ(conv_k×k([mean_c(x'); max_c(x')])) on
x' = x·Mc. Output x'' = x·Mc·Ms, applied sequentially with no residual added.

The paper's spatial gate (the default, ``spatial_bn=False``) is one biased k×k convolution and a
sigmoid. The authors' code (github.com/Jongchan/attention-module, ``MODELS/cbam.py``) differs: its
``SpatialGate`` is ``BasicConv(2, 1, 7, relu=False)``, i.e. a bias-free 7×7 convolution followed by
``BatchNorm2d(1, eps=1e-5, momentum=0.01)`` before the sigmoid. ``spatial_bn=True`` builds that
form. Its BatchNorm is the attention package's ``BatchNorm2d`` subclass: upstream yolov5's
``initialize_weights`` resets eps/momentum only of modules whose type *is* ``nn.BatchNorm2d``, so
the authors' eps and momentum survive, and a 1×1 map at batch 1 uses the running statistics.
The authors' code also pools (max, mean) where we pool (mean, max): a permutation of the two input
channels of the learned convolution, the same function class (it matters only to load their weights).

Parameters: 2·C·(C/r) + C/r + C (MLP with biases, as the authors' ``nn.Linear`` layers have), plus
the spatial gate: 2·k² + 1 (paper: conv with bias) or 2·k² + 2 (authors: conv without bias, BatchNorm
weight and bias). At C = 64, r = 16, k = 7: 580 + 99 = 679 (paper), 580 + 100 = 680 (authors).
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention._batchnorm import BatchNorm2d
from ablation.attention.registry import ATTENTION


@ATTENTION.register("cbam", paper="Woo et al., CBAM: Convolutional Block Attention Module, ECCV 2018")
class CBAM(nn.Module):
    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7, spatial_bn: bool = False) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"CBAM kernel_size must be odd to keep the spatial size, got {kernel_size}.")
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
        )
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=not spatial_bn)
        # the authors' code: BatchNorm after the bias-free conv (their BasicConv, bn=True, relu=False)
        self.spatial_bn = BatchNorm2d(1, eps=1e-5, momentum=0.01) if spatial_bn else nn.Identity()

    def channel_map(self, x: torch.Tensor) -> torch.Tensor:
        """Mc(x), shape (B, C, 1, 1)."""
        return (self.mlp(x.mean((2, 3), keepdim=True)) + self.mlp(x.amax((2, 3), keepdim=True))).sigmoid()

    def spatial_map(self, x: torch.Tensor) -> torch.Tensor:
        """Ms(x), shape (B, 1, H, W)."""
        pooled = torch.cat((x.mean(1, keepdim=True), x.amax(1, keepdim=True)), dim=1)
        return self.spatial_bn(self.spatial(pooled)).sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel_map(x)
        return x * self.spatial_map(x)
