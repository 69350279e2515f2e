from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.a2 import DoubleAttention


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("channels", [16, 64, 256])
def test_parameter_count(channels: int) -> None:
    c = channels // 4
    expected = 3 * (channels * c + c) + (c * channels + channels)
    assert n_params(ATTENTION.build("a2", channels)) == expected
    c_m, c_n = 8, 4
    expected = (channels * c_m + c_m) + 2 * (channels * c_n + c_n) + (c_m * channels + channels)
    assert n_params(ATTENTION.build("a2", channels, c_m=c_m, c_n=c_n)) == expected


def test_without_reconstruct_needs_c_m_equal_to_channels() -> None:
    with pytest.raises(ValueError, match=r"without reconstruct needs c_m == channels \(32\)"):
        DoubleAttention(32, reconstruct=False)
    m = DoubleAttention(32, c_m=32, c_n=8, reconstruct=False)
    assert n_params(m) == (32 * 32 + 32) + 2 * (32 * 8 + 8)
    assert m(torch.randn(2, 32, 5, 3)).shape == (2, 32, 5, 3)


def test_matches_explicit_gather_distribute() -> None:
    m = DoubleAttention(32, c_m=8, c_n=6).eval()
    x = torch.randn(2, 32, 5, 7)
    a = m.conv_a(x).flatten(2)
    b = m.conv_b(x).flatten(2)
    v = m.conv_v(x).flatten(2)
    z = torch.zeros(2, 8, 35)
    for n in range(2):
        att_maps = torch.exp(b[n]) / torch.exp(b[n]).sum(1, keepdim=True)  # over positions
        g = a[n] @ att_maps.T  # (c_m, c_n) global descriptors
        att_vec = torch.exp(v[n]) / torch.exp(v[n]).sum(0, keepdim=True)  # over descriptors
        z[n] = g @ att_vec
    expected = x + m.reconstruct(z.view(2, 8, 5, 7))
    torch.testing.assert_close(m(x), expected, atol=1e-5, rtol=1e-5)


def test_no_mixing_across_the_batch() -> None:
    m = DoubleAttention(32).eval()
    x = torch.randn(2, 32, 6, 5)
    x2 = x.clone()
    x2[1] = torch.randn(32, 6, 5) * 3
    y, y2 = m(x), m(x2)
    torch.testing.assert_close(y[0], y2[0], rtol=0, atol=1e-6)
    assert (y[1] - y2[1]).abs().max() > 1e-2
    torch.testing.assert_close(m(x[:1]), y[:1], atol=1e-6, rtol=1e-6)


def test_output_is_residual() -> None:
    m = DoubleAttention(16)
    with torch.no_grad():
        m.reconstruct.weight.zero_()
        m.reconstruct.bias.zero_()
    x = torch.randn(2, 16, 4, 3)
    torch.testing.assert_close(m(x), x)
