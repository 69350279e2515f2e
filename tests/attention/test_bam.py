from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.bam import BAM


def official_params(c: int, r: int = 16) -> int:
    """Jongchan/attention-module MODELS/bam.py, BAM(c): ChannelGate = Linear(c, h), BatchNorm1d(h),
    Linear(h, c); SpatialGate = Conv(c, h, 1), BN(h), 2 × [Conv(h, h, 3, dilation 4), BN(h)],
    Conv(h, 1, 1); h = c // r, every layer with bias."""
    h = c // r
    channel = (c * h + h) + 2 * h + (h * c + c)
    spatial = (c * h + h) + 2 * h + 2 * (9 * h * h + h + 2 * h) + (h + 1)
    return channel + spatial


@pytest.mark.parametrize(("channels", "expected"), [(64, 1173), (256, 17361)])
def test_parameter_count_equals_the_official_module(channels: int, expected: int) -> None:
    assert official_params(channels) == expected
    assert sum(p.numel() for p in ATTENTION.build("bam", channels).parameters()) == expected
    assert sum(p.numel() for p in BAM(channels, multiply=True).parameters()) == expected


def test_dilated_convs_keep_the_size_and_sixteen_channels_have_one_hidden_unit() -> None:
    m = BAM(16)
    dilated = [l for l in m.spatial_gate if isinstance(l, torch.nn.Conv2d) and l.kernel_size == (3, 3)]
    assert [(l.dilation, l.padding, l.in_channels) for l in dilated] == [((4, 4), (4, 4), 1)] * 2


def test_sum_as_the_paper_and_product_as_the_official_code() -> None:
    torch.manual_seed(0)
    m = BAM(32).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.5)
    x = torch.randn(2, 32, 6, 9)  # non-square: the official's H×H pooling is no global pool here
    mc = m.channel_gate(x.mean((2, 3), keepdim=True))
    ms = m.spatial_gate(x)
    assert mc.shape == (2, 32, 1, 1) and ms.shape == (2, 1, 6, 9)
    torch.testing.assert_close(m(x), x * (1 + (mc + ms).sigmoid()))
    m.multiply = True
    torch.testing.assert_close(m(x), x * (1 + (mc * ms).sigmoid()))
    assert not torch.allclose(m(x), x * (1 + (mc + ms).sigmoid()), atol=1e-3)


def test_gate_is_between_one_and_two() -> None:
    m = BAM(32).eval()
    x = torch.rand(2, 32, 5, 5) + 0.1
    ratio = m(x) / x
    assert (ratio > 1).all() and (ratio < 2).all()
