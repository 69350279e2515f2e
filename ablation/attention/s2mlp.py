"""S2-MLPv2 spatial-shift attention (Yu et al., "S2-MLPv2: Improved Spatial-Shift MLP
Architecture for Vision", arXiv 2108.01072, 2021).

Channels-last linear C → 3C, split into three chunks. Chunk 1: spatial shift 1 (channel quarters
moved one pixel +H, -H, +W, -W); chunk 2: spatial shift 2 (the same four directions with the axes
swapped: +W, -W, +H, -H, as in the paper's Algorithm 1); chunk 3 kept. Split attention: sum the
chunks, mean over H·W, MLP C → C → 3C (GELU, no biases), softmax across the three chunks, weighted
sum; linear C → C. Sized from ``channels`` (the circulating copy hard-wires 512).
Border pixels keep their value; a size-1 axis is left as is; the C mod 4 remainder channels are
not shifted. The paper sums over positions; the mean keeps the MLP's input independent of the
image size.
Parameters: (3C² + 3C) + (C² + 3C²) + (C² + C) = 8C² + 4C.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION

SHIFT1 = ((1, 1), (1, -1), (2, 1), (2, -1))
SHIFT2 = ((2, 1), (2, -1), (1, 1), (1, -1))


def spatial_shift(x: torch.Tensor, moves: tuple[tuple[int, int], ...]) -> torch.Tensor:
    """Shift channel quarter g of a (B, H, W, C) tensor one pixel along dim ``moves[g]``."""
    q = x.shape[-1] // 4
    out = x.clone()
    for g, (dim, step) in enumerate(moves):
        n = x.shape[dim]
        if n < 2 or q == 0:
            continue
        src, dst = [slice(None)] * 4, [slice(None)] * 4
        src[3] = dst[3] = slice(g * q, (g + 1) * q)
        head, tail = slice(0, n - 1), slice(1, n)
        src[dim], dst[dim] = (head, tail) if step > 0 else (tail, head)
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
        chunks = torch.stack(
            (spatial_shift(y[..., :c], SHIFT1), spatial_shift(y[..., c : 2 * c], SHIFT2), y[..., 2 * c :]), 1
        )
        a = self.split_mlp(chunks.sum(1).mean((1, 2))).reshape(b, 3, 1, 1, c).softmax(1)
        out = self.project((chunks * a).sum(1)).permute(0, 3, 1, 2).contiguous()
        return out.to(x.dtype)
