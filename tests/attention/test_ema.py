from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.ema import EMA


def expected_params(channels: int, groups: int) -> int:
    k = channels // groups
    return (k * k + k) + (9 * k * k + k) + 2 * k


@pytest.mark.parametrize(("channels", "groups"), [(16, 16), (64, 32), (96, 32), (256, 32), (512, 32), (24, 24)])
def test_groups_and_parameter_count(channels: int, groups: int) -> None:
    m = ATTENTION.build("ema", channels)
    assert m.groups == groups
    assert sum(p.numel() for p in m.parameters()) == expected_params(channels, groups)


def test_sixteen_channels_one_channel_per_group_trains() -> None:
    m = EMA(16).train()
    assert m.groups == 16 and m.gn.num_groups == 1 and m.gn.num_channels == 1
    x = torch.randn(2, 16, 7, 5, requires_grad=True)
    m(x).square().mean().backward()
    assert torch.isfinite(x.grad).all()


def test_factor_is_fitted() -> None:
    assert EMA(48, factor=32).groups == 24
    assert EMA(64, factor=8).groups == 8


def reference(m: EMA, x: torch.Tensor) -> torch.Tensor:
    """The paper's equations written independently, one sample and one group at a time."""
    b, c, h, w = x.shape
    k = c // m.groups
    out = torch.empty_like(x)
    for i in range(b):
        for j in range(m.groups):
            g = x[i : i + 1, j * k : (j + 1) * k]
            a = m.conv1x1(torch.cat((g.mean(3, keepdim=True), g.mean(2, keepdim=True).permute(0, 1, 3, 2)), 2))
            x1 = m.gn(g * a[:, :, :h].sigmoid() * a[:, :, h:].permute(0, 1, 3, 2).sigmoid())[0]
            x2 = m.conv3x3(g)[0]
            s1 = torch.softmax(x1.mean((1, 2)), 0)
            s2 = torch.softmax(x2.mean((1, 2)), 0)
            attn = torch.einsum("k,khw->hw", s1, x2) + torch.einsum("k,khw->hw", s2, x1)
            out[i, j * k : (j + 1) * k] = g[0] * attn.sigmoid()
    return out


@pytest.mark.parametrize(("channels", "factor"), [(64, 8), (16, 32)])
def test_matches_reference(channels: int, factor: int) -> None:
    torch.manual_seed(0)
    m = EMA(channels, factor=factor).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(2, channels, 5, 7)
    torch.testing.assert_close(m(x), reference(m, x), atol=1e-5, rtol=1e-4)


def test_single_pixel() -> None:
    m = EMA(32).train()
    x = torch.randn(1, 32, 1, 1, requires_grad=True)
    y = m(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
