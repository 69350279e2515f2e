from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.mhsa import MHSA

# BoTNet gist botnet.py: q, k, v group_pointwise [C, 4, C/4] without bias; r_height, r_width
# (2·size − 1, C/4): 3·C² + 2·(2·21 − 1)·C/4 at heads=4, size=21.
OFFICIAL_PARAMS = {64: 3 * 64**2 + 2 * 41 * 16, 256: 3 * 256**2 + 2 * 41 * 64}


@pytest.mark.parametrize("channels", [64, 256])
def test_parameter_count_equals_the_official_code(channels: int) -> None:
    m = ATTENTION.build("mhsa", channels)
    assert sum(p.numel() for p in m.parameters()) == OFFICIAL_PARAMS[channels] == {64: 13600, 256: 201856}[channels]


def reference(m: MHSA, x: torch.Tensor) -> torch.Tensor:
    """The BoTNet equations, one query pixel at a time."""
    b, c, h, w = x.shape
    d = c // m.heads
    q, k, v = m.qkv(x).reshape(b, 3, m.heads, d, h, w).unbind(1)
    out = torch.zeros(b, m.heads, d, h, w)
    for i in range(h):
        for j in range(w):
            qi = q[:, :, :, i, j] * d**-0.5  # (B, m, d)
            logits = torch.einsum("bmd,bmdpq->bmpq", qi, k)
            dy = torch.arange(h)[:, None] - i + m.size - 1
            dx = torch.arange(w)[None, :] - j + m.size - 1
            logits = logits + torch.einsum("bmd,pqd->bmpq", qi, m.rel_h[dy.expand(h, w)])
            logits = logits + torch.einsum("bmd,pqd->bmpq", qi, m.rel_w[dx.expand(h, w)])
            a = logits.flatten(2).softmax(-1)
            out[:, :, :, i, j] = torch.einsum("bmn,bmdn->bmd", a, v.flatten(3))
    return out.reshape(b, c, h, w)


@pytest.mark.parametrize("shape", [(2, 32, 4, 4), (1, 16, 3, 5), (2, 32, 5, 5), (1, 16, 1, 1)])
def test_matches_the_equations_on_every_map_up_to_size(shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    m = MHSA(shape[1], size=5).eval()
    x = torch.randn(shape)
    with torch.no_grad():
        torch.testing.assert_close(m(x), reference(m, x), atol=1e-5, rtol=1e-4)


def test_larger_map_is_refused_with_the_fix() -> None:
    m = MHSA(16, size=4)
    with pytest.raises(
        ValueError,
        match=r"cover feature maps up to 4x4, got 5x3; set attention.kwargs.size=5 or place it at a coarser stride\.",
    ):
        m(torch.randn(1, 16, 5, 3))


def test_relative_table_gradients_reach_only_the_offsets_used() -> None:
    m = MHSA(16, heads=2, size=6).train()
    x = torch.randn(2, 16, 3, 4, requires_grad=True)
    m(x).square().mean().backward()
    used_h = m.rel_h.grad.abs().sum(1).nonzero().flatten().tolist()
    used_w = m.rel_w.grad.abs().sum(1).nonzero().flatten().tolist()
    assert used_h == list(range(6 - 3, 6 + 2)) and used_w == list(range(6 - 4, 6 + 3))
