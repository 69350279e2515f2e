from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION


def expected_params(c: int, rate: int = 4, groups: int = 1) -> int:
    h = c // rate
    mlp = (c * h + h) + (h * c + c)
    convs = 49 * c * h // groups + 49 * h * c // groups
    return mlp + convs + 2 * h + 2 * c


@pytest.mark.parametrize("channels", [16, 64, 256])
def test_parameter_count(channels: int) -> None:
    assert sum(p.numel() for p in ATTENTION.build("gam", channels).parameters()) == expected_params(channels)


def test_sixteen_channels_keep_shape() -> None:
    m = ATTENTION.build("gam", 16).train()
    x = torch.randn(2, 16, 7, 5)
    y = m(x)
    assert y.shape == (2, 16, 7, 5)
    assert m.spatial_in[0].out_channels == 4 and m.spatial_out[0].out_channels == 16


@pytest.mark.parametrize(("channels", "groups"), [(16, 4), (24, 3), (64, 4), (256, 4), (20, 1)])
def test_grouped_variant_fits_groups(channels: int, groups: int) -> None:
    m = ATTENTION.build("gam", channels, group=True)
    assert m.groups == groups
    assert sum(p.numel() for p in m.parameters()) == expected_params(channels, 4, groups)
    x = torch.randn(1, channels, 5, 3)
    assert m(x).shape == x.shape


def test_output_is_x_times_mc_times_ms() -> None:
    m = ATTENTION.build("gam", 32).eval()
    x = torch.randn(2, 32, 6, 4)
    mc = m.channel_mlp(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).sigmoid()
    ms = m.spatial_out(m.spatial_in(x * mc)).sigmoid()
    torch.testing.assert_close(m(x), x * mc * ms)
