"""Mixed Local Channel Attention (Wan et al., "Mixed local channel attention for object
detection", Engineering Applications of Artificial Intelligence 123, 2023).

The map is average-pooled to a ``local_size`` x ``local_size`` grid (local branch) and that grid
to one value per channel (global branch). Each branch is an ECA-style 1-D convolution over the
channels (kernel k from ECA's rule, k = odd(int((log2 C + b) / gamma)), no bias): the global one
over the C channel means, the local one over the grid flattened position-major (C values per cell,
one cell after the other, as the official code flattens it). Sigmoid; the two attentions are
mixed ``(1 - w) * global + w * local`` on the grid and the grid is "un-pooled" back to H x W by
adaptive average pooling (each output pixel averages the grid cells its bin covers), then
rescales the input.

Official code: https://github.com/wandahangFY/MLCA (``MLCA.py``: ``MLCA(in_size, local_size=5,
gamma=2, b=1, local_weight=0.5)``, two ``Conv1d(1, 1, k, bias=False)``). Parameters 2k: 6 at 64
channels (k = 3), 10 at 256 channels (k = 5); asserted in ``tests/attention/test_mlca.py``.
What we do instead, and why:
- The first published version transposed the global attention across the batch
  (``y_global.view(b, -1).transpose(-1, -2)``: samples mixed, and a crash for batch sizes other
  than a few); the repository has since corrected it to one value per sample and channel, which
  is what we implement.
- Both adaptive poolings (to the grid and back to H x W) are written as products with constant
  bin-averaging matrices (the same bins as ``adaptive_avg_pool2d``: floor(i·H/n) to
  ceil((i+1)·H/n)): identical values, and a backward that is a matrix product, deterministic on
  CUDA (AdaptiveAvgPool2d's backward is not). Maps smaller than the grid work as in the original
  (bins repeat rows).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


def bin_average(out_size: int, in_size: int, like: torch.Tensor) -> torch.Tensor:
    """(out_size, in_size) matrix whose row i averages adaptive-pooling bin i of ``in_size``."""
    m = torch.zeros(out_size, in_size, dtype=like.dtype, device=like.device)
    for i in range(out_size):
        start, end = (i * in_size) // out_size, -(-((i + 1) * in_size) // out_size)
        m[i, start:end] = 1.0 / (end - start)
    return m


def eca_kernel(channels: int, gamma: int, b: int) -> int:
    t = int(abs(math.log(channels, 2) + b) / gamma)
    return t if t % 2 else t + 1


@ATTENTION.register(
    "mlca", paper="Wan et al., Mixed local channel attention for object detection, Eng. Appl. of AI 123, 2023"
)
class MLCA(nn.Module):
    def __init__(
        self, channels: int, local_size: int = 5, gamma: int = 2, b: int = 1, local_weight: float = 0.5
    ) -> None:
        super().__init__()
        k = eca_kernel(channels, gamma, b)
        self.local_size, self.local_weight = local_size, local_weight
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)
        self.conv_local = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n = self.local_size
        pool_h, pool_w = bin_average(n, h, x), bin_average(n, w, x)
        grid = pool_h @ x @ pool_w.T  # (B, C, n, n)
        local = self.conv_local(grid.flatten(2).transpose(1, 2).reshape(b, 1, n * n * c))
        local = local.reshape(b, n * n, c).transpose(1, 2).reshape(b, c, n, n).sigmoid()
        glob = self.conv(grid.mean((2, 3)).unsqueeze(1)).reshape(b, c, 1, 1).sigmoid()
        mixed = glob * (1 - self.local_weight) + local * self.local_weight
        return x * (bin_average(h, n, x) @ mixed @ bin_average(w, n, x).T)
