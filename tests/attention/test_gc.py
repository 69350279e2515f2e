from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.gc import GlobalContext


def official_params(c: int, ratio: float = 1 / 16) -> int:
    """ContextBlock2d(c, int(c * ratio), 'att', ['channel_add']) in xvjiarui/GCNet
    mmdet/ops/ct/context_block.py: conv_mask (c→1, bias), conv c→p, LayerNorm([p,1,1]), conv p→c."""
    p = int(c * ratio)
    return (c + 1) + (c * p + p) + 2 * p + (p * c + c)


@pytest.mark.parametrize(("channels", "expected"), [(64, 653), (256, 8753)])
def test_parameter_count_equals_the_official_block(channels: int, expected: int) -> None:
    assert official_params(channels) == expected
    assert sum(p.numel() for p in ATTENTION.build("gc", channels).parameters()) == expected


def test_small_widths_keep_four_hidden_units_so_the_context_matters() -> None:
    m = GlobalContext(16).eval()
    assert m.transform[0].out_channels == 4
    assert sum(p.numel() for p in m.parameters()) == 17 + (16 * 4 + 4) + 8 + (4 * 16 + 16)
    torch.nn.init.normal_(m.transform[-1].weight)
    x = torch.randn(2, 16, 5, 5)
    term = m(x) - x
    assert (term[0] - term[1]).abs().max() > 1e-3  # not a constant: it depends on the context
    # the official P = int(16 / 16) = 1: LayerNorm over one value is its bias, whatever the input
    one = torch.nn.LayerNorm([1, 1, 1])
    assert torch.equal(one(torch.randn(3, 1, 1, 1)), torch.zeros(3, 1, 1, 1))


def test_starts_as_the_identity_like_the_official_init() -> None:
    m = GlobalContext(32).train()
    x = torch.randn(2, 32, 5, 7)
    torch.testing.assert_close(m(x), x, rtol=0, atol=0)


def test_equation_on_a_hand_made_input() -> None:
    """Two channels, three positions, mask scores 0, 0, ln 2: weights 1/4, 1/4, 1/2."""
    m = GlobalContext(2).eval()
    with torch.no_grad():
        m.mask.weight.zero_()
        m.mask.weight[0, 1] = 1.0  # the score is channel 1
        m.mask.bias.zero_()
    x = torch.tensor([[[[1.0, 2.0, 3.0]], [[0.0, 0.0, torch.log(torch.tensor(2.0))]]]])
    expected = torch.tensor([[[[0.25 * 1 + 0.25 * 2 + 0.5 * 3]], [[0.5 * torch.log(torch.tensor(2.0))]]]])
    torch.testing.assert_close(m.context(x), expected)
    torch.nn.init.normal_(m.transform[-1].weight)
    y = m(x)
    torch.testing.assert_close(y, x + m.transform(expected))
    assert (y - x).std(dim=(2, 3)).max() < 1e-6  # the same term is added at every position
    assert (y - x).abs().max() > 1e-3
