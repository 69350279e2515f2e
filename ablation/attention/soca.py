"""Second-order Channel Attention (Dai et al., "Second-order Attention Network for Single Image
Super-Resolution", CVPR 2019).

Covariance pooling of the centred (C, H·W) features, matrix square root by Newton-Schulz
iterations on the trace-normalised covariance (rescaled by √trace after), per-channel statistic =
row mean of the square root, then 1x1 conv C → C/r + ReLU, 1x1 conv C/r → C, sigmoid, rescale x.
The covariance and Newton-Schulz maths run in float32 with autocast off (float16 overflows there,
and upstream validates with ``model.half()``); the trace carries an eps so H·W = 1 (a zero
covariance) gives a zero statistic, not NaN. Cost O(C²·H·W + iterations·C³) per image.
Parameters: (C·C' + C') + (C'·C + C), C' = max(C/r, 1).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from ablation.attention.registry import ATTENTION


def newton_schulz_sqrt(a: torch.Tensor, iterations: int, eps: float = 1e-8) -> torch.Tensor:
    """Square root of a batch (B, C, C) of symmetric positive semi-definite matrices."""
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device).expand_as(a)
    norm = a.diagonal(dim1=1, dim2=2).sum(-1).view(-1, 1, 1) + eps
    y, z = a / norm, eye
    for _ in range(iterations):
        t = 0.5 * (3.0 * eye - z @ y)
        y, z = y @ t, t @ z
    return y * norm.sqrt()


@ATTENTION.register(
    "soca", paper="Dai et al., Second-order Attention Network for Single Image Super-Resolution, CVPR 2019"
)
class SOCA(nn.Module):
    def __init__(self, channels: int, reduction: int = 8, iterations: int = 5) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.iterations = iterations
        self.fc = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1), nn.Sigmoid()
        )

    def channel_statistic(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, 1, 1) row means of the covariance square root, float32."""
        b, c, h, w = x.shape
        # autocast off where it exists (not on the meta device, where GFLOPs are counted)
        off = torch.autocast(x.device.type, enabled=False) if x.device.type != "meta" else contextlib.nullcontext()
        with off:
            f = x.float().reshape(b, c, h * w)
            f = f - f.mean(-1, keepdim=True)
            cov = f @ f.transpose(1, 2) / (h * w)
            return newton_schulz_sqrt(cov, self.iterations).mean(-1).view(b, c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.fc(self.channel_statistic(x).to(x.dtype))).to(x.dtype)
