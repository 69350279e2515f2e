from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.criss_cross import CrissCrossAttention


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("channels", [16, 64, 256])
def test_parameter_count(channels: int) -> None:
    inner = max(channels // 8, 1)
    expected = 2 * (channels * inner + inner) + (channels * channels + channels) + 1
    assert n_params(ATTENTION.build("criss_cross", channels)) == expected


def test_gamma_starts_at_zero_so_module_starts_as_identity() -> None:
    m = CrissCrossAttention(32)
    x = torch.randn(2, 32, 5, 7)
    assert m.gamma.item() == 0.0
    torch.testing.assert_close(m(x), x)


@pytest.mark.parametrize(("h", "w"), [(7, 5), (3, 11), (1, 6), (6, 1)])
def test_weights_cover_exactly_the_cross_once(h: int, w: int) -> None:
    m = CrissCrossAttention(16)
    a = m.attention(torch.randn(2, 16, h, w))
    assert a.shape == (2, h, w, h + w)
    torch.testing.assert_close(a.sum(-1), torch.ones(2, h, w))
    assert ((a > 0).sum(-1) == h + w - 1).all()
    rows = torch.arange(h)
    assert (a[:, rows, :, rows] == 0).all()  # the self entry of the column term is masked


def test_matches_explicit_per_pixel_computation() -> None:
    m = CrissCrossAttention(16)
    with torch.no_grad():
        m.gamma.fill_(0.7)
    x = torch.randn(1, 16, 5, 4)
    q, k, v = m.query(x)[0], m.key(x)[0], m.value(x)[0]
    y = m(x)
    for i, j in [(0, 0), (2, 3), (4, 1)]:
        cross = [(r, j) for r in range(5) if r != i] + [(i, c) for c in range(4)]
        e = torch.stack([q[:, i, j] @ k[:, r, c] for r, c in cross])
        att = e.softmax(0)
        out = sum(att[n] * v[:, r, c] for n, (r, c) in enumerate(cross))
        torch.testing.assert_close(y[0, :, i, j], 0.7 * out + x[0, :, i, j], atol=1e-5, rtol=1e-5)


def test_pixel_off_the_cross_has_no_influence_with_one_pass_but_does_with_two() -> None:
    x = torch.randn(1, 16, 6, 5)
    x2 = x.clone()
    x2[0, :, 4, 3] += 5.0  # off the cross of (1, 1)
    for recurrence, influenced in [(1, False), (2, True)]:
        torch.manual_seed(0)
        m = CrissCrossAttention(16, recurrence=recurrence)
        with torch.no_grad():
            m.gamma.fill_(1.0)
        diff = (m(x2)[0, :, 1, 1] - m(x)[0, :, 1, 1]).abs().max().item()
        assert (diff > 1e-3) is influenced, (recurrence, diff)
        assert (m(x2)[0, :, 4, 1] - m(x)[0, :, 4, 1]).abs().max() > 1e-3  # same column: influenced


def test_single_pixel_attends_only_itself() -> None:
    m = CrissCrossAttention(16)
    with torch.no_grad():
        m.gamma.fill_(0.5)
    x = torch.randn(3, 16, 1, 1)
    torch.testing.assert_close(m(x), 0.5 * m.value(x) + x)


def test_half_precision_mask_is_safe_with_large_energies() -> None:
    m = CrissCrossAttention(32).half()
    with torch.no_grad():
        m.gamma.fill_(1.0)
    x = (torch.randn(2, 32, 7, 5) * 20).half()
    a = m.attention(x)
    assert a.dtype == torch.float16 and torch.isfinite(a).all()
    y = m(x)
    assert y.dtype == torch.float16 and torch.isfinite(y).all()
