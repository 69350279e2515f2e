from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.eca import ECA


@pytest.mark.parametrize(("channels", "k"), [(16, 3), (64, 3), (128, 5), (192, 5), (256, 5), (512, 5), (1024, 5)])
def test_adaptive_kernel_matches_paper(channels: int, k: int) -> None:
    m = ATTENTION.build("eca", channels)
    assert m.k_size == k
    assert m.conv.kernel_size == (k,)


def test_kernel_grows_with_channels_and_with_smaller_gamma() -> None:
    assert ECA(64).k_size < ECA(256).k_size
    assert ECA(4096, gamma=1).k_size == 13  # |12 + 1|, already odd


@pytest.mark.parametrize("channels", [16, 64, 256])
def test_parameter_count_is_k(channels: int) -> None:
    m = ECA(channels)
    assert sum(p.numel() for p in m.parameters()) == m.k_size


def test_explicit_kernel_overrides_and_even_rejected() -> None:
    assert ECA(256, k_size=9).k_size == 9
    with pytest.raises(ValueError, match="k_size must be 0 \\(adaptive\\) or a positive odd number, got 4"):
        ECA(256, k_size=4)


def test_matches_manual_computation() -> None:
    m = ECA(64)
    x = torch.randn(2, 64, 5, 3)
    y = torch.nn.functional.conv1d(x.mean((2, 3))[:, None], m.conv.weight, padding=m.k_size // 2)
    torch.testing.assert_close(m(x), x * y.sigmoid()[:, 0, :, None, None])
