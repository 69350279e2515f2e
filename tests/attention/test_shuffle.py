from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.shuffle import ShuffleAttention


@pytest.mark.parametrize(("channels", "groups"), [(16, 8), (64, 32), (96, 48), (256, 64), (512, 64), (1024, 64)])
def test_groups_and_parameter_count(channels: int, groups: int) -> None:
    m = ATTENTION.build("shuffle", channels)
    assert m.groups == groups
    k = channels // (2 * groups)
    assert k >= 1 and m.gn.num_groups == k and m.cweight.shape == (1, k, 1, 1)
    assert sum(p.numel() for p in m.parameters()) == 6 * k


def test_group_count_for_sixteen_channels_leaves_whole_halves() -> None:
    for requested in (64, 5, 3):
        g = ShuffleAttention(16, groups=requested).groups
        assert 16 % (2 * g) == 0 and g <= requested
    assert ShuffleAttention(16, groups=3).groups == 2


def reference(m: ShuffleAttention, x: torch.Tensor) -> torch.Tensor:
    """One group at a time, then the 2-group channel shuffle as an explicit permutation."""
    b, c, h, w = x.shape
    per_group = c // m.groups
    k = per_group // 2
    cw, cb, sw, sb = (p.detach().view(1, k, 1, 1) for p in (m.cweight, m.cbias, m.sweight, m.sbias))
    gw, gb = m.gn.weight.detach().view(1, k, 1, 1), m.gn.bias.detach().view(1, k, 1, 1)
    parts = []
    for j in range(m.groups):
        xc = x[:, j * per_group : j * per_group + k]
        xs = x[:, j * per_group + k : (j + 1) * per_group]
        parts.append(xc * torch.sigmoid(cw * xc.mean((2, 3), keepdim=True) + cb))
        norm = (xs - xs.mean((2, 3), keepdim=True)) / (xs.var((2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt()
        parts.append(xs * torch.sigmoid(sw * (norm * gw + gb) + sb))
    out = torch.cat(parts, 1)
    order = [i for pair in zip(range(c // 2), range(c // 2, c)) for i in pair]
    return out[:, order]


@pytest.mark.parametrize(("channels", "groups"), [(32, 4), (16, 64)])
def test_matches_reference(channels: int, groups: int) -> None:
    torch.manual_seed(0)
    m = ShuffleAttention(channels, groups=groups).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(2, channels, 5, 7)
    torch.testing.assert_close(m(x), reference(m, x), atol=1e-5, rtol=1e-4)


def test_rejects_odd_channels() -> None:
    with pytest.raises(ValueError, match=r"15 channels cannot be split into groups of a multiple of 2"):
        ShuffleAttention(15)
