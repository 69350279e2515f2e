from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION


@pytest.mark.parametrize("channels", [16, 64, 256])
def test_parameter_count(channels: int) -> None:
    h = max(channels // 16, 1)
    expected = (channels * h + h) + (h * channels + channels) + (2 * 7 * 7 + 1)
    assert sum(p.numel() for p in ATTENTION.build("cbam", channels).parameters()) == expected


def test_spatial_conv_is_7x7_over_two_maps() -> None:
    conv = ATTENTION.build("cbam", 64).spatial
    assert conv.kernel_size == (7, 7) and conv.in_channels == 2 and conv.out_channels == 1
    assert conv.padding == (3, 3)


def test_output_is_x_times_mc_times_ms_without_residual() -> None:
    m = ATTENTION.build("cbam", 32).eval()
    x = torch.randn(2, 32, 9, 5)
    mlp = m.mlp
    mc = (mlp(x.mean((2, 3), keepdim=True)) + mlp(x.amax((2, 3), keepdim=True))).sigmoid()
    xc = x * mc
    pooled = torch.cat((xc.mean(1, keepdim=True), xc.amax(1, keepdim=True)), 1)
    ms = torch.nn.functional.conv2d(pooled, m.spatial.weight, m.spatial.bias, padding=3).sigmoid()
    y = m(x)
    torch.testing.assert_close(y, x * mc * ms)
    assert not torch.allclose(y, x * mc * ms + x, atol=1e-3)
    assert (y.abs() <= x.abs() + 1e-6).all()  # both gates are in (0, 1): nothing is added
