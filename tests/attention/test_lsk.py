from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.lsk import LSKAttention

# zcablii/LSKNet, mmrotate/models/backbones/lsknet.py, LSKblock(dim): 1.5·C² + 78·C + 198.
OFFICIAL_PARAMS = {64: 11334, 256: 118470}


@pytest.mark.parametrize("channels", [64, 256])
def test_parameter_count_equals_the_official_code(channels: int) -> None:
    m = ATTENTION.build("lsk", channels)
    assert (
        sum(p.numel() for p in m.parameters()) == OFFICIAL_PARAMS[channels] == 1.5 * channels**2 + 78 * channels + 198
    )


def test_receptive_field() -> None:
    """5x5 then 7x7 dilated 3 (23 px), then the 7x7 selection conv: 2 + 9 + 3 = 14 px each side."""
    m = LSKAttention(8).eval()
    x = torch.zeros(1, 8, 31, 31, requires_grad=True)
    y = m(x + 1.0)
    y[0, :, 15, 15].sum().backward()
    rows = x.grad[0].abs().sum((0, 2)).nonzero().flatten()
    assert (rows.min().item(), rows.max().item()) == (15 - 14, 15 + 14)


def test_selection_is_per_pixel_between_the_two_kernels() -> None:
    torch.manual_seed(0)
    m = LSKAttention(16).eval()
    x = torch.randn(2, 16, 9, 7)
    small = m.conv0(x)
    large = m.conv_spatial(small)
    a1, a2 = m.conv1(small), m.conv2(large)
    both = torch.cat((a1, a2), 1)
    agg = torch.cat((both.mean(1, keepdim=True), both.max(1, keepdim=True).values), 1)
    sig = m.conv_squeeze(agg).sigmoid()
    torch.testing.assert_close(m(x), x * m.conv(a1 * sig[:, 0:1] + a2 * sig[:, 1:2]))
