from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ablation.attention import ATTENTION
from ablation.attention.cpca import CPCA

# Cuthbert-Huang/CPCANet, CPCANet/nnunet/network_architecture/CPCANet.py, RepBlock(C, C, 4).
OFFICIAL_PARAMS = {64: 13328, 256: 127040}


@pytest.mark.parametrize("channels", [64, 256])
def test_parameter_count_equals_the_official_code(channels: int) -> None:
    m = ATTENTION.build("cpca", channels)
    assert sum(p.numel() for p in m.parameters()) == OFFICIAL_PARAMS[channels] == 1.5 * channels**2 + 112.25 * channels


def test_matches_the_official_forward_with_adaptive_pooling() -> None:
    torch.manual_seed(0)
    m = CPCA(32).eval()
    x = torch.randn(2, 32, 9, 14)
    fc1, fc2 = m.fc[0], m.fc[2]

    def mlp(v: torch.Tensor) -> torch.Tensor:
        return fc2(F.relu(fc1(v))).sigmoid()

    h = F.gelu(m.proj(x))
    h = h * (mlp(F.adaptive_avg_pool2d(h, 1)) + mlp(F.adaptive_max_pool2d(h, 1)))
    d = m.dw5(h)
    s = d + sum(strip[1](strip[0](d)) for strip in m.strips)
    torch.testing.assert_close(m(x), m.proj(m.proj(s) * h), atol=1e-5, rtol=1e-4)
    assert [strip[0].kernel_size for strip in m.strips] == [(1, 7), (1, 11), (1, 21)]
