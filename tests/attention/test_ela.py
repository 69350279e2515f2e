from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.ela import ELA

# The paper's listing (the official code): Conv1d(C, C, 7, groups=C, bias=False) + GroupNorm(16, C).
OFFICIAL_PARAMS = {64: 7 * 64 + 2 * 64, 256: 7 * 256 + 2 * 256}


@pytest.mark.parametrize("channels", [64, 256])
def test_parameter_count_equals_the_official_listing(channels: int) -> None:
    m = ATTENTION.build("ela", channels)
    assert sum(p.numel() for p in m.parameters()) == OFFICIAL_PARAMS[channels] == {64: 576, 256: 2304}[channels]
    assert m.gn.num_groups == 16


@pytest.mark.parametrize(("channels", "groups"), [(16, 16), (24, 12), (40, 10), (48, 16)])
def test_group_count_fits_yolo_widths(channels: int, groups: int) -> None:
    assert ELA(channels).gn.num_groups == groups


def test_matches_the_equations() -> None:
    torch.manual_seed(0)
    m = ELA(32, kernel_size=5).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(2, 32, 5, 9)
    w = m.conv.weight[:, 0]  # (C, k)

    def strip_gate(s: torch.Tensor) -> torch.Tensor:  # (B, C, L), the depthwise conv written as a loop
        padded = torch.nn.functional.pad(s, (2, 2))
        conv = torch.stack([(padded[..., i : i + 5] * w).sum(-1) for i in range(s.shape[-1])], -1)
        return torch.nn.functional.group_norm(conv, m.groups, m.gn.weight, m.gn.bias, m.gn.eps).sigmoid()

    expected = x * strip_gate(x.mean(3))[..., None] * strip_gate(x.mean(2))[:, :, None, :]
    torch.testing.assert_close(m(x), expected, atol=1e-5, rtol=1e-4)


def test_one_value_per_group_gives_the_bias() -> None:
    m = ELA(16).train()
    with torch.no_grad():
        m.gn.bias.copy_(torch.linspace(-2, 2, 16))
    x = torch.randn(1, 16, 1, 1, requires_grad=True)
    y = m(x)
    gate = torch.linspace(-2, 2, 16).sigmoid().view(1, 16, 1, 1)
    torch.testing.assert_close(y, x * gate * gate)
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().min() > 0
