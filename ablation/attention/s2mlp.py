"""S2-MLPv2 spatial-shift attention (Yu et al., "S2-MLPv2: Improved Spatial-Shift MLP
Architecture for Vision", arXiv 2108.01072, 2021).

Channels-last linear C → 3C; chunk 1 is spatially shifted one pixel in four directions (one per
channel quarter), chunk 2 in the opposite directions, chunk 3 kept; split attention over the
three chunks (sum, mean over H·W, MLP C → C → 3C without bias, softmax across the chunks),
weighted sum, linear C → C. Sized from ``channels`` (the circulating copy hard-wires 512);
border pixels keep their value; channels left over by C/4 stay unshifted in the last quarter.
Parameters: (3C² + 3C) + (C² + 4C²) + (C² + C) = 8C² + 4C.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ATTENTION


def spatial_shift(x: torch.Tensor, reverse: bool = False) -> torch.Tensor:
    """Shift channel quarters of a (B, H, W, C) tensor by one pixel: down, up, right, left."""
    q = x.shape[-1] // 4
    out = x.clone()
    parts = [(slice(0, q), 1, 1), (slice(q, 2 * q), 1, -1), (slice(2 * q, 3 * q), 2, 1), (slice(3 * q, None), 2, -1)]
    for channels, dim, step in parts:
        step = -step if reverse else step
        n = x.shape[dim]
        if n < 2:
            continue
        src = [slice(None)] * 4
        dst = [slice(None)] * 4
        src[3] = dst[3] = channels
        src[dim], dst[dim] = (slice(0, n - 1), slice(1, n)) if step > 0 else (slice(1, n), slice(0, n - 1))
        out[tuple(dst)] = x[tuple(src)]
    return out


@ATTENTION.register("s2mlp", paper="Yu et al., S2-MLPv2: Improved Spatial-Shift MLP Architecture for Vision, 2021")
class S2Attention(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.expand = nn.Linear(channels, channels * 3)
        self.split_mlp = nn.Sequential(
            nn.Linear(channels, channels, bias=False), nn.GELU(), nn.Linear(channels, channels * 3, bias=False)
        )
        self.project = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.expand(x.permute(0, 2, 3, 1))
        chunks = torch.stack((spatial_shift(y[..., :c]), spatial_shift(y[..., c:2 * c], reverse=True), y[..., 2 * c:]), 1)
        a = self.split_mlp(chunks.sum(1).mean((1, 2))).reshape(b, 3, 1, 1, c).softmax(1)
        return self.project((chunks * a).sum(1)).permute(0, 3, 1, 2)
