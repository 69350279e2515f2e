from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.nam import NAM


@pytest.mark.parametrize("channels", [16, 64, 256, 512])
def test_parameter_count_is_2c(channels: int) -> None:
    assert sum(p.numel() for p in ATTENTION.build("nam", channels).parameters()) == 2 * channels


def test_weights_are_normalised_absolute_gammas() -> None:
    m = NAM(4)
    with torch.no_grad():
        m.bn.weight.copy_(torch.tensor([1.0, -3.0, 0.0, 4.0]))
    w = m.channel_weights()
    torch.testing.assert_close(w, torch.tensor([0.125, 0.375, 0.0, 0.5]))
    assert w.sum().item() == pytest.approx(1.0)


def test_output_is_sigmoid_of_weighted_bn_times_input() -> None:
    m = NAM(8).eval()
    with torch.no_grad():
        m.bn.weight.copy_(torch.linspace(-2, 3, 8))
        m.bn.bias.copy_(torch.linspace(1, -1, 8))
        m.bn.running_mean.copy_(torch.linspace(0, 1, 8))
        m.bn.running_var.copy_(torch.linspace(0.5, 2, 8))
    x = torch.randn(2, 8, 5, 3)
    gamma = m.bn.weight.detach()
    bn = (x - m.bn.running_mean.view(1, -1, 1, 1)) / (m.bn.running_var.view(1, -1, 1, 1) + m.bn.eps).sqrt()
    bn = bn * gamma.view(1, -1, 1, 1) + m.bn.bias.detach().view(1, -1, 1, 1)
    w = (gamma.abs() / gamma.abs().sum()).view(1, -1, 1, 1)
    torch.testing.assert_close(m(x), x * torch.sigmoid(w * bn))


def test_training_uses_batch_statistics() -> None:
    m = NAM(4).train()
    x = torch.randn(3, 4, 5, 5) * 5 + 2
    xn = (x - x.mean((0, 2, 3), keepdim=True)) / (x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt()
    torch.testing.assert_close(m(x), x * torch.sigmoid(xn / 4), atol=1e-5, rtol=1e-5)


def test_single_value_batch_in_training_uses_running_statistics() -> None:
    m = NAM(16).train()
    x = torch.randn(1, 16, 1, 1, requires_grad=True)
    y = m(x)
    torch.testing.assert_close(y, x * torch.sigmoid(x / (1 + 1e-5) ** 0.5 / 16))
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and m.bn.weight.grad is not None
