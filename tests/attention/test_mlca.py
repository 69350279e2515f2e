from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ablation.attention import ATTENTION
from ablation.attention.mlca import MLCA

# wandahangFY/MLCA, MLCA.py: two Conv1d(1, 1, k, bias=False), k by ECA's rule (64 → 3, 256 → 5).
OFFICIAL_PARAMS = {64: 2 * 3, 256: 2 * 5}


@pytest.mark.parametrize("channels", [64, 256])
def test_parameter_count_equals_the_official_code(channels: int) -> None:
    m = ATTENTION.build("mlca", channels)
    assert sum(p.numel() for p in m.parameters()) == OFFICIAL_PARAMS[channels]


def reference(m: MLCA, x: torch.Tensor) -> torch.Tensor:
    """The corrected official forward, with torch's adaptive pooling, one sample at a time."""
    out = []
    n, wgt = m.local_size, m.local_weight
    for s in x.split(1):
        _, c, h, w = s.shape
        grid = F.adaptive_avg_pool2d(s, n)
        local = m.conv_local(grid.reshape(1, c, n * n).transpose(1, 2).reshape(1, 1, -1))
        local = local.reshape(1, n * n, c).transpose(1, 2).reshape(1, c, n, n).sigmoid()
        glob = m.conv(F.adaptive_avg_pool2d(grid, 1).reshape(1, 1, c)).reshape(1, c, 1, 1).sigmoid()
        glob = F.adaptive_avg_pool2d(glob, n)
        out.append(s * F.adaptive_avg_pool2d(glob * (1 - wgt) + local * wgt, (h, w)))
    return torch.cat(out)


@pytest.mark.parametrize("shape", [(2, 64, 16, 16), (2, 32, 7, 13), (3, 16, 3, 2), (1, 16, 1, 1), (2, 32, 23, 5)])
def test_matches_adaptive_pooling_reference(shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    m = MLCA(shape[1]).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(shape)
    torch.testing.assert_close(m(x), reference(m, x), atol=1e-5, rtol=1e-4)
