from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION


@pytest.mark.parametrize(("channels", "mip"), [(16, 8), (64, 8), (256, 8), (512, 16), (1024, 32)])
def test_mip(channels: int, mip: int) -> None:
    m = ATTENTION.build("ca", channels)
    assert m.mip == mip
    assert m.conv1.out_channels == mip and m.conv_h.in_channels == mip and m.conv_w.out_channels == channels


@pytest.mark.parametrize("channels", [16, 64, 256, 1024])
def test_parameter_count(channels: int) -> None:
    mip = max(8, channels // 32)
    expected = (channels * mip + mip) + 2 * mip + 2 * (mip * channels + channels)
    assert sum(p.numel() for p in ATTENTION.build("ca", channels).parameters()) == expected


def test_attention_is_separable_in_h_and_w() -> None:
    """The gate is a_h(h) · a_w(w): its 2×2 minors vanish (rank one per channel)."""
    m = ATTENTION.build("ca", 16).eval()
    x = torch.randn(1, 16, 6, 4).abs() + 0.5
    gate = m(x) / x
    assert torch.linalg.matrix_rank(gate[0].double(), atol=1e-5).eq(1).all()
