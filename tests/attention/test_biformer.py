from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.biformer import BiLevelRoutingAttention, from_windows, to_windows

# rayleizhu/BiFormer, ops/bra_legacy.py, BiLevelRoutingAttention(dim) defaults: 4·C² + 14·C.
OFFICIAL_PARAMS = {64: 17280, 256: 265728}


@pytest.mark.parametrize("channels", [64, 256])
def test_parameter_count_equals_the_official_code(channels: int) -> None:
    m = ATTENTION.build("biformer", channels)
    assert sum(p.numel() for p in m.parameters()) == OFFICIAL_PARAMS[channels] == 4 * channels**2 + 14 * channels
    assert (m.heads, m.n_win, m.topk) == (8, 7, 4)


def test_windows_round_trip() -> None:
    x = torch.randn(2, 5, 6, 9)
    w = to_windows(x, 3)
    assert w.shape == (2, 9, 6, 5)
    torch.testing.assert_close(w[1, 4, :, 2], x[1, 2, 2:4, 3:6].flatten())  # window (row 1, col 1)
    torch.testing.assert_close(from_windows(w, 3, 6, 9), x)


def reference(m: BiLevelRoutingAttention, x: torch.Tensor) -> torch.Tensor:
    """Token-level attention written per pixel: each pixel attends to the pixels of the topk
    windows whose mean key is closest to its window's mean query."""
    b, c, h, w = x.shape
    n = m.n_win
    xp = torch.nn.functional.pad(x, (0, -w % n, 0, -h % n))
    hh, ww = xp.shape[2:]
    sh, sw = hh // n, ww // n
    q, k, v = m.qkv(xp).chunk(3, 1)

    def win(t: torch.Tensor, i: int) -> torch.Tensor:  # window i of t: (C, pixels)
        return t[:, (i // n) * sh : (i // n + 1) * sh, (i % n) * sw : (i % n + 1) * sw].flatten(1)

    out = torch.zeros_like(q)
    d = c // m.heads
    for s in range(b):
        q_win = torch.stack([win(q[s], i).mean(1) for i in range(n * n)])
        k_win = torch.stack([win(k[s], i).mean(1) for i in range(n * n)])
        routed = ((q_win * m.scale) @ k_win.T).topk(m.topk, -1).indices
        for i in range(n * n):
            keys = torch.cat([win(k[s], j) for j in routed[i]], 1)
            vals = torch.cat([win(v[s], j) for j in routed[i]], 1)
            qs = win(q[s], i)
            res = torch.empty_like(qs)
            for hd in range(m.heads):
                sl = slice(hd * d, (hd + 1) * d)
                a = ((qs[sl].T * m.scale) @ keys[sl]).softmax(-1)
                res[sl] = (a @ vals[sl].T).T
            r0, c0 = (i // n) * sh, (i % n) * sw
            out[s, :, r0 : r0 + sh, c0 : c0 + sw] = res.reshape(c, sh, sw)
    return m.wo(out + m.lepe(v))[:, :, :h, :w]


@pytest.mark.parametrize(
    ("shape", "n_win", "topk"), [((2, 16, 6, 6), 3, 2), ((1, 16, 7, 5), 3, 4), ((2, 32, 4, 4), 2, 1)]
)
def test_matches_the_per_pixel_reference(shape: tuple[int, ...], n_win: int, topk: int) -> None:
    torch.manual_seed(0)
    m = BiLevelRoutingAttention(shape[1], num_heads=4, n_win=n_win, topk=topk).eval()
    x = torch.randn(shape)
    with torch.no_grad():
        torch.testing.assert_close(m(x), reference(m, x), atol=1e-5, rtol=1e-4)


def test_topk_is_capped_and_odd_maps_are_padded() -> None:
    m = BiLevelRoutingAttention(16, n_win=7, topk=100)
    assert m.topk == 49
    y = m(torch.randn(1, 16, 1, 1))
    assert y.shape == (1, 16, 1, 1)
