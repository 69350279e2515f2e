from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.triplet import TripletAttention

# landskape-ai/triplet-attention triplet_attention.py: three AttentionGate, each
# BasicConv(2, 1, 7, bias=False) + BatchNorm2d(1): 2·7·7 + 2 parameters.
OFFICIAL_GATE = 2 * 7 * 7 + 2


@pytest.mark.parametrize("channels", [64, 256])
def test_parameter_count_equals_the_official_module(channels: int) -> None:
    m = ATTENTION.build("triplet", channels)
    assert sum(p.numel() for p in m.parameters()) == 3 * OFFICIAL_GATE == 300
    assert sum(p.numel() for p in TripletAttention(channels, no_spatial=True).parameters()) == 2 * OFFICIAL_GATE


def test_gates_are_7x7_over_max_and_mean_with_the_official_momentum() -> None:
    m = TripletAttention(16)
    for gate in (m.cw, m.hc, m.hw):
        assert gate.conv.kernel_size == (7, 7) and gate.conv.in_channels == 2 and gate.conv.bias is None
        assert gate.bn.momentum == 0.01


def gate(g: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One branch written out: pool over dim 1, conv, BN (eval), sigmoid."""
    pooled = torch.stack((x.max(1).values, x.mean(1)), 1)
    z = torch.nn.functional.conv2d(pooled, g.conv.weight, padding=3)
    z = (z - g.bn.running_mean.view(1, -1, 1, 1)) / torch.sqrt(g.bn.running_var.view(1, -1, 1, 1) + g.bn.eps)
    return x * (z * g.bn.weight.view(1, -1, 1, 1) + g.bn.bias.view(1, -1, 1, 1)).sigmoid()


@pytest.mark.parametrize("no_spatial", [False, True])
def test_mean_of_the_rotated_branches(no_spatial: bool) -> None:
    torch.manual_seed(0)
    m = TripletAttention(12, no_spatial=no_spatial).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(2, 12, 5, 9)
    branches = [
        gate(m.cw, x.permute(0, 2, 1, 3)).permute(0, 2, 1, 3),  # (B, H, C, W): H pooled
        gate(m.hc, x.permute(0, 3, 2, 1)).permute(0, 3, 2, 1),  # (B, W, H, C): W pooled
    ]
    if not no_spatial:
        branches.append(gate(m.hw, x))
    torch.testing.assert_close(m(x), sum(branches) / len(branches))


def test_hand_made_input_spatial_gate_only_sees_max_and_mean() -> None:
    """Weights 1 on the max map and 0 on the mean map, at the centre tap only: the H-W gate is
    σ(max over channels) at every position."""
    g = TripletAttention(2).eval().hw
    with torch.no_grad():
        g.conv.weight.zero_()
        g.conv.weight[0, 0, 3, 3] = 1.0
    x = torch.tensor([[[[1.0, -2.0]], [[3.0, 0.5]]]])
    expected = x * torch.tensor([[[[3.0, 0.5]]]]).div(torch.sqrt(torch.tensor(1 + 1e-5))).sigmoid()
    torch.testing.assert_close(g(x), expected)
