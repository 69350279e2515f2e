from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.s2mlp import SHIFT1, SHIFT2, S2Attention, spatial_shift


def shift_reference(x: torch.Tensor, dims_steps: list[tuple[int, int]]) -> torch.Tensor:
    """torch.roll then restore the wrapped border, per channel quarter, remainder untouched."""
    q = x.shape[-1] // 4
    out = x.clone()
    for g, (dim, step) in enumerate(dims_steps):
        part = x[..., g * q : (g + 1) * q]
        if part.shape[dim] < 2:
            continue
        rolled = part.roll(step, dim)
        border = 0 if step > 0 else part.shape[dim] - 1
        rolled.index_copy_(dim, torch.tensor([border]), part.index_select(dim, torch.tensor([border])))
        out[..., g * q : (g + 1) * q] = rolled
    return out


@pytest.mark.parametrize("channels", [16, 64, 256])
def test_parameter_count(channels: int) -> None:
    c = channels
    expected = (c * 3 * c + 3 * c) + (c * c + c * 3 * c) + (c * c + c)
    assert sum(p.numel() for p in ATTENTION.build("s2mlp", channels).parameters()) == expected


@pytest.mark.parametrize("shape", [(2, 7, 5, 16), (1, 1, 6, 12), (1, 4, 1, 10), (1, 1, 1, 8), (2, 3, 3, 3)])
@pytest.mark.parametrize("moves", [SHIFT1, SHIFT2])
def test_shift_matches_roll_reference(shape: tuple[int, ...], moves: tuple) -> None:
    x = torch.randn(shape)
    torch.testing.assert_close(spatial_shift(x, moves), shift_reference(x, list(moves)), rtol=0, atol=0)


def test_shift_directions_on_a_ramp() -> None:
    h = torch.arange(5.0).view(1, 5, 1, 1).expand(1, 5, 4, 8)
    s = spatial_shift(h, SHIFT1)
    assert s[0, :, 0, 0].tolist() == [0, 0, 1, 2, 3]  # quarter 0: +H, border kept
    assert s[0, :, 0, 2].tolist() == [1, 2, 3, 4, 4]  # quarter 1: -H
    assert torch.equal(s[..., 4:], h[..., 4:])  # W-shifts leave an H ramp unchanged
    s2 = spatial_shift(h, SHIFT2)
    assert torch.equal(s2[..., :4], h[..., :4])
    assert s2[0, :, 0, 4].tolist() == [0, 0, 1, 2, 3]


def test_remainder_channels_are_not_shifted() -> None:
    x = torch.randn(1, 5, 6, 10)  # 10 = 4 quarters of 2 + 2 remainder
    s = spatial_shift(x, SHIFT1)
    assert torch.equal(s[..., 8:], x[..., 8:])
    assert not torch.equal(s[..., :8], x[..., :8])


def test_matches_manual_computation() -> None:
    m = S2Attention(16).eval()
    x = torch.randn(2, 16, 5, 7)
    y = m.expand(x.permute(0, 2, 3, 1))
    xs = [shift_reference(y[..., :16], list(SHIFT1)), shift_reference(y[..., 16:32], list(SHIFT2)), y[..., 32:]]
    s = (xs[0] + xs[1] + xs[2]).mean((1, 2))
    hat = m.split_mlp[2](torch.nn.functional.gelu(s @ m.split_mlp[0].weight.T))
    bar = hat.view(2, 3, 16).softmax(1)
    fused = sum(bar[:, k, None, None, :] * xs[k] for k in range(3))
    expected = (fused @ m.project.weight.T + m.project.bias).permute(0, 3, 1, 2)
    torch.testing.assert_close(m(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("channels", [96, 1024])
def test_not_hard_wired_to_512(channels: int) -> None:
    m = S2Attention(channels).eval()
    assert m.split_mlp[0].in_features == channels and m.split_mlp[2].out_features == 3 * channels
    for shape in [(1, channels, 3, 5), (2, channels, 1, 7), (1, channels, 4, 1), (1, channels, 1, 1)]:
        x = torch.randn(shape)
        y = m(x)
        assert y.shape == x.shape and torch.isfinite(y).all()
