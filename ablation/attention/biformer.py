"""Bi-level routing attention (Zhu et al., "BiFormer: Vision Transformer with Bi-Level Routing
Attention", CVPR 2023).

The map is cut into n_win x n_win windows. Region level: each window's mean query and mean key
give a window-to-window affinity (no gradient: the official ``diff_routing=False``), and each
window keeps its ``topk`` most related windows. Token level: every pixel attends (multi-head,
softmax) to the pixels of its window's routed windows only. A depthwise 3x3 conv on the values
(LePE) is added, then the output projection. q, k, v and the output are 1x1 projections with
bias (the official ``nn.Linear`` layers, same parameters).

Official code: https://github.com/rayleizhu/BiFormer (``ops/bra_legacy.py``,
``BiLevelRoutingAttention(dim, num_heads=8, n_win=7, topk=4, side_dwconv=3,
param_attention='qkvo', kv_downsample_mode='identity')``). Parameters: qkv C·3C + 3C, output
C² + C, LePE 9C + C: 4C² + 14C = 17280 at 64 channels, 265728 at 256; asserted in
``tests/attention/test_biformer.py``. Kept from the official code: the attention scale is
qk_dim^-0.5 with qk_dim = C (not the head width), and padding.
What we do instead, and why:
- Odd maps (YOLO's 20x20, 7x5, 1x1 at batch 1): the official module asserts that n_win divides
  H and W unless ``auto_pad=True``; we always auto-pad as that option does (zeros at the right and
  bottom before the projections, cropped at the end), so every map size works. A map smaller than
  the window grid is padded up to n_win x n_win (1-pixel windows).
- Gathering the routed windows: the official ``torch.gather`` backward is a scatter-add, which
  has no deterministic CUDA kernel in every torch version; we select with a one-hot matrix
  product instead (same values, deterministic backward, more multiply-adds: GFLOPs count them).
- ``topk`` is capped at the number of windows; heads = ``fit_groups(C, num_heads)``.
- The routing affinities use the window means of q and k computed as the projection of the
  window mean of the input (equal, the projection being affine) in float32, and the token
  softmax runs in float32: a ``.half()`` model (upstream's FP16 validation) routes exactly as
  its float32 weights do, where half-precision affinities flip near-tied windows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ablation.attention.registry import ATTENTION, fit_groups


def to_windows(x: torch.Tensor, n: int) -> torch.Tensor:
    """(B, C, n·h, n·w) → (B, n², h·w, C)."""
    b, c, hh, ww = x.shape
    return x.reshape(b, c, n, hh // n, n, ww // n).permute(0, 2, 4, 3, 5, 1).reshape(b, n * n, -1, c)


def from_windows(x: torch.Tensor, n: int, hh: int, ww: int) -> torch.Tensor:
    """Inverse of ``to_windows``: (B, n², h·w, C) → (B, C, hh, ww)."""
    b, _, _, c = x.shape
    return x.reshape(b, n, n, hh // n, ww // n, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, hh, ww)


@ATTENTION.register(
    "biformer", paper="Zhu et al., BiFormer: Vision Transformer with Bi-Level Routing Attention, CVPR 2023"
)
class BiLevelRoutingAttention(nn.Module):
    def __init__(self, channels: int, num_heads: int = 8, n_win: int = 7, topk: int = 4, side_dwconv: int = 3) -> None:
        super().__init__()
        self.heads = fit_groups(channels, num_heads)
        self.n_win, self.topk = n_win, min(topk, n_win * n_win)
        self.scale = channels**-0.5
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.lepe = nn.Conv2d(channels, channels, side_dwconv, padding=side_dwconv // 2, groups=channels)
        self.wo = nn.Conv2d(channels, channels, 1)

    def route(self, x: torch.Tensor) -> torch.Tensor:
        """(B, p², topk, p²) one-hot selection of each window's topk windows (no gradient).

        The window means of q and k are the projections of the window means of the input (the
        projection is affine), computed in float32 from the input: the routing of a ``.half()``
        model then equals its float32 reference's instead of flipping on rounding."""
        with torch.no_grad():
            c = x.shape[1]
            mean = to_windows(x, self.n_win).float().mean(2)  # (B, p², C)
            weight, bias = self.qkv.weight[: 2 * c, :, 0, 0].float(), self.qkv.bias[: 2 * c].float()
            q_win, k_win = F.linear(mean, weight, bias).chunk(2, -1)
            index = ((q_win * self.scale) @ k_win.transpose(1, 2)).topk(self.topk, dim=-1).indices
            return F.one_hot(index, q_win.shape[1]).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n = self.n_win
        x = F.pad(x, (0, -w % n, 0, -h % n))
        hh, ww = x.shape[2:]
        select = self.route(x)
        q, k, v = self.qkv(x).chunk(3, 1)
        lepe = self.lepe(v)
        q, k, v = (to_windows(t, n) for t in (q, k, v))  # (B, p², w², C)
        k_sel = torch.einsum("bpkq,bqwc->bpkwc", select, k).flatten(2, 3)  # (B, p², topk·w², C)
        v_sel = torch.einsum("bpkq,bqwc->bpkwc", select, v).flatten(2, 3)
        heads, d = self.heads, c // self.heads
        q = q.reshape(*q.shape[:3], heads, d).transpose(2, 3)  # (B, p², m, w², d)
        k_sel = k_sel.reshape(*k_sel.shape[:3], heads, d).transpose(2, 3)
        v_sel = v_sel.reshape(*v_sel.shape[:3], heads, d).transpose(2, 3)
        attn = ((q * self.scale) @ k_sel.transpose(-2, -1)).float().softmax(-1).to(q.dtype)
        out = (attn @ v_sel).transpose(2, 3).flatten(3)  # (B, p², w², C)
        out = self.wo(from_windows(out, n, hh, ww) + lepe)
        return out[:, :, :h, :w]
