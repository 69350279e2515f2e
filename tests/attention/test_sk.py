from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.sk import SKAttention


def expected_params(c: int, m: int = 2, g: int = 32, r: int = 16, L: int = 32) -> int:
    d = max(c // r, L)
    return m * (9 * c * c // g + 2 * c) + (c * d + 2 * d) + m * d * c


@pytest.mark.parametrize(("channels", "groups"), [(16, 16), (64, 32), (96, 32), (256, 32), (512, 32)])
def test_groups_and_parameter_count(channels: int, groups: int) -> None:
    m = ATTENTION.build("sk", channels)
    assert m.groups == groups
    assert all(b[0].groups == groups for b in m.branches)
    assert sum(p.numel() for p in m.parameters()) == expected_params(channels, g=groups)


def test_hidden_dim_and_three_branches() -> None:
    m = SKAttention(1024, branches=3)
    assert m.dim == 64
    assert [b[0].dilation for b in m.branches] == [(1, 1), (2, 2), (3, 3)]
    assert sum(p.numel() for p in m.parameters()) == expected_params(1024, m=3)
    assert SKAttention(64).dim == 32


def test_group_count_for_sixteen_channels_is_valid() -> None:
    m = SKAttention(16, groups=32)
    assert m.groups == 16 and 16 % m.groups == 0
    assert SKAttention(48, groups=32).groups == 24


def test_branch_weights_sum_to_one_across_branches() -> None:
    m = SKAttention(64, branches=3).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(2, 64, 7, 5)
    u = torch.stack([b(x) for b in m.branches], 1)
    a = m.branch_weights(u)
    assert a.shape == (2, 3, 64, 1, 1)
    torch.testing.assert_close(a.sum(1), torch.ones(2, 64, 1, 1))
    assert a.std() > 0.01  # genuinely selective, not a uniform 1/M
    torch.testing.assert_close(m(x), (u * a).sum(1))


@pytest.mark.parametrize("shape", [(1, 32, 6, 9), (1, 32, 1, 1), (2, 32, 1, 1)])
def test_trains_at_batch_one_and_single_pixel(shape: tuple[int, ...]) -> None:
    m = SKAttention(32).train()
    x = torch.randn(shape, requires_grad=True)
    y = m(x)
    assert y.shape == x.shape
    y.square().mean().backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in m.parameters())
