"""BoTNet's multi-head self-attention with 2-D relative position logits (Srinivas et al.,
"Bottleneck Transformers for Visual Recognition", CVPR 2021).

All-to-all attention over the H·W pixels: q, k, v are 1x1 projections without bias, per head
of width d = C / heads; logits = q·k / √d plus relative position logits q·r_h[Δy] + q·r_w[Δx]
(q already scaled), with one learned table of 2·size − 1 offsets per axis (d values each, shared
by the heads); softmax over the keys; the heads are concatenated (no output projection, as in
BoTNet, whose block puts BN and a 1x1 conv after it).

Official code: the authors' TensorFlow gist linked from the paper,
https://gist.github.com/aravindsrinivas/56359b79f0ce4449bcb04ab4b56a57a2 (``botnet.py``:
``MHSA`` = three ``group_pointwise`` projections ``[C, heads, C/heads]`` without bias, heads=4,
and ``relative_logits`` with ``r_height``/``r_width`` of shape ``(2H − 1, C/heads)``).
Parameters: 3C² + 2·(2·size − 1)·C/heads = 3C² + 20.5C at the defaults (heads=4, size=21):
13600 at 64 channels, 201856 at 256; asserted in ``tests/attention/test_mhsa.py``.

The fixed size, and what we do about it. The official tables are built for one H x W and the
code only runs on maps of exactly that size. A detector meets several sizes in one run:
upstream builds the model with a 256 px pass, trains at ``train.imgsz`` (and 0.5-1.5x that with
``train.multi_scale``), and validates on rectangular batches padded by half a stride (672 px for
``train.imgsz=640``). Relative position logits depend only on the offset between two pixels, so
one table of 2·size − 1 offsets serves every map up to size x size exactly: a smaller map uses
the offsets it has (the table's centre), nothing is interpolated, and at size x size this is the
official computation. A larger map has offsets the table does not hold: the forward pass raises,
and planning (``ablation.plan.planner`` via ``surgery.feature_size``) refuses such a config before
anything trains, naming the size to set or a coarser placement. ``size=21`` covers BoTNet's
placement (stride 32, c5) at ``train.imgsz=640``: 20 x 20 in training, 21 x 21 in validation.
Offsets beyond those a training map has (±19 at 20 x 20) keep their initialisation.
Other deviations: the gist initialises the tables with ``random_normal_initializer(d**-0.5)``,
passing the intended standard deviation as the mean (its own comment says so); we use mean 0,
std d^-0.5. heads = ``fit_groups(C, heads)``. Softmax in float32. Memory grows with (H·W)²:
the planner's refusal is also what keeps it out of stride-4/8 layers unless asked for.
"""

from __future__ import annotations

import torch
from torch import nn

from ablation.attention.registry import ATTENTION, fit_groups


def relative_table(table: torch.Tensor, length: int, size: int) -> torch.Tensor:
    """(length, length, d): row i holds the embeddings of offsets key − i for keys 0..length−1.

    Slices, not advanced indexing: their backward is a plain copy (deterministic on CUDA)."""
    return torch.stack([table[size - 1 - i : size - 1 - i + length] for i in range(length)])


@ATTENTION.register("mhsa", paper="Srinivas et al., Bottleneck Transformers for Visual Recognition, CVPR 2021")
class MHSA(nn.Module):
    MAX_SIDE_ARG = "size"  # the constructor argument that bounds the feature maps (planner check)

    def __init__(self, channels: int, heads: int = 4, size: int = 21) -> None:
        super().__init__()
        self.heads, self.size = fit_groups(channels, heads), size
        d = channels // self.heads
        self.qkv = nn.Conv2d(channels, 3 * channels, 1, bias=False)
        self.rel_h = nn.Parameter(torch.randn(2 * size - 1, d) * d**-0.5)
        self.rel_w = nn.Parameter(torch.randn(2 * size - 1, d) * d**-0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        if h > self.size or w > self.size:
            raise ValueError(
                f"MHSA's relative positions cover feature maps up to {self.size}x{self.size}, got {h}x{w}; "
                f"set attention.kwargs.size={max(h, w)} or place it at a coarser stride."
            )
        m, d = self.heads, c // self.heads
        q, k, v = self.qkv(x).reshape(b, 3, m, d, h, w).unbind(1)  # (B, m, d, h, w)
        q = q * d**-0.5
        logits = torch.einsum("bmdxy,bmdpq->bmxypq", q, k)
        logits = logits + torch.einsum("bmdxy,xpd->bmxyp", q, relative_table(self.rel_h, h, self.size))[..., None]
        logits = logits + torch.einsum("bmdxy,yqd->bmxyq", q, relative_table(self.rel_w, w, self.size))[..., None, :]
        attn = logits.reshape(b, m, h * w, h * w).float().softmax(-1).to(x.dtype)
        out = attn @ v.reshape(b, m, d, h * w).transpose(2, 3)  # (B, m, h·w, d)
        return out.transpose(2, 3).reshape(b, c, h, w)
