from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.sge import SpatialGroupEnhance


@pytest.mark.parametrize("channels", [64, 256])
def test_parameter_count_equals_the_official_module(channels: int) -> None:
    # implus/PytorchInsight resnet_sge.py: SpatialGroupEnhance(64) holds weight and bias of
    # shape (1, groups, 1, 1): 2 · 64 = 128 parameters, whatever the width.
    m = ATTENTION.build("sge", channels)
    assert m.groups == 64
    assert sum(p.numel() for p in m.parameters()) == 2 * 64 == 128


@pytest.mark.parametrize(("channels", "groups"), [(16, 16), (32, 32), (48, 48), (96, 48), (512, 64)])
def test_groups_fit_yolo_widths(channels: int, groups: int) -> None:
    assert SpatialGroupEnhance(channels).groups == groups


def test_hand_made_input() -> None:
    """One channel, positions 1, 2, 3: mean 2, similarities 2, 4, 6, centred -2, 0, 2, unbiased
    std 2, normalised -1, 0, 1 (up to the 1e-5), γ = 1 and β = 0: out = x · σ(-1, 0, 1)."""
    m = SpatialGroupEnhance(1)
    with torch.no_grad():
        m.weight.fill_(1.0)
        m.bias.fill_(0.0)
    x = torch.tensor([[[[1.0, 2.0, 3.0]]]])
    expected = x * torch.tensor([-1.0, 0.0, 1.0]).mul(2 / (2 + 1e-5)).sigmoid()
    torch.testing.assert_close(m(x), expected)


def reference(m: SpatialGroupEnhance, x: torch.Tensor) -> torch.Tensor:
    """The official equations, one sample and one group at a time."""
    b, c, h, w = x.shape
    k = c // m.groups
    out = torch.empty_like(x)
    for i in range(b):
        for j in range(m.groups):
            g = x[i, j * k : (j + 1) * k]
            sim = (g * g.mean((1, 2), keepdim=True)).sum(0).flatten()
            t = (sim - sim.mean()) / (sim.std() + 1e-5)
            a = t * m.weight[0, j, 0, 0] + m.bias[0, j, 0, 0]
            out[i, j * k : (j + 1) * k] = g * a.reshape(h, w).sigmoid()
    return out


@pytest.mark.parametrize(("channels", "groups"), [(64, 64), (64, 8), (24, 4)])
def test_matches_the_official_equations(channels: int, groups: int) -> None:
    torch.manual_seed(0)
    m = SpatialGroupEnhance(channels, groups=groups)
    torch.nn.init.normal_(m.weight)
    x = torch.randn(2, channels, 5, 7)
    torch.testing.assert_close(m(x), reference(m, x), atol=1e-5, rtol=1e-4)


def test_initial_gate_is_sigmoid_one_and_1x1_maps_are_not_nan() -> None:
    m = SpatialGroupEnhance(32)
    x = torch.randn(2, 32, 4, 4)
    torch.testing.assert_close(m(x), x * torch.sigmoid(torch.tensor(1.0)))
    one = torch.randn(1, 32, 1, 1, requires_grad=True)
    torch.nn.init.normal_(m.weight)
    y = m(one)
    torch.testing.assert_close(y, one * m.bias.view(1, 32, 1, 1).sigmoid())
    y.sum().backward()
    assert torch.isfinite(one.grad).all() and torch.isfinite(m.weight.grad).all()


def test_a_constant_group_has_finite_gradients() -> None:
    m = SpatialGroupEnhance(8, groups=2)
    torch.nn.init.normal_(m.weight)
    x = torch.randn(2, 8, 5, 5)
    x[:, :4] = 0.0  # the first group is dead (zero over the map): zero variance
    x.requires_grad_(True)
    m(x).square().mean().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(m.weight.grad).all()
    assert x.grad.abs().sum() > 0
