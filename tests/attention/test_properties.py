"""Properties every registered attention module must have, whatever its paper."""

from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION

NAMES = ATTENTION.names()
# Widths a module meets in yolov5n/s: 16 (inside yolov5n's first C3) up to 1024 (yolov5s neck).
WIDTHS = [16, 64, 96]


def build(name: str, channels: int) -> torch.nn.Module:
    return ATTENTION.build(name, channels)


def off_zero(m: torch.nn.Module) -> torch.nn.Module:
    """Move zero-initialised gates (criss-cross gamma, shuffle weights) off zero, so that every
    parameter is on the path to the output."""
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    return m


def assert_gradients(m: torch.nn.Module, x: torch.Tensor, every_parameter: bool = False) -> None:
    """The input gradient (and with ``every_parameter`` each parameter's) is finite and not all zero."""
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for pname, p in m.named_parameters():
        if every_parameter:
            assert p.grad is not None, f"{pname} got no gradient"
            assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
            assert p.grad.abs().sum() > 0, f"{pname} has an all-zero gradient"
        elif p.grad is not None:
            assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"


@pytest.mark.parametrize("channels", WIDTHS)
@pytest.mark.parametrize("name", NAMES)
def test_shape_kept_square_odd_nonsquare(name: str, channels: int) -> None:
    m = build(name, channels).eval()
    for shape in [(2, channels, 8, 8), (2, channels, 7, 5), (2, channels, 3, 11)]:
        x = torch.randn(shape)
        y = m(x)
        assert y.shape == x.shape and y.dtype == x.dtype
        assert torch.isfinite(y).all()


@pytest.mark.parametrize("shape", [(1, 32, 6, 9), (1, 16, 1, 1)], ids=["6x9", "1x1"])
@pytest.mark.parametrize("name", NAMES)
def test_batch_one_in_training_mode(name: str, shape: tuple[int, ...]) -> None:
    m = build(name, shape[1]).train()
    x = torch.randn(*shape, requires_grad=True)
    y = m(x)
    assert y.shape == x.shape
    y.square().mean().backward()
    assert_gradients(m, x)


@pytest.mark.parametrize("name", NAMES)
def test_backward_reaches_every_parameter(name: str) -> None:
    m = off_zero(build(name, 64).train())
    x = torch.randn(2, 64, 8, 6, requires_grad=True)  # parameter-free modules still backpropagate
    m(x).square().mean().backward()
    assert_gradients(m, x, every_parameter=True)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", NAMES)
def test_autocast(name: str, dtype: torch.dtype) -> None:
    m = build(name, 64).train()
    x = torch.randn(2, 64, 10, 7, requires_grad=True)
    with torch.autocast("cpu", dtype=dtype):
        y = m(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    y.float().square().mean().backward()
    assert_gradients(m, x)


@pytest.mark.parametrize("name", NAMES)
def test_half_precision_forward(name: str) -> None:
    """Upstream validates with ``model.half()`` on GPU: every op must accept float16 throughout."""
    m = build(name, 64).eval().half()
    x = torch.randn(2, 64, 10, 7).half()
    y = m(x)
    assert y.dtype == torch.float16 and y.shape == x.shape
    assert torch.isfinite(y).all()
    ref = build(name, 64).eval()
    ref.load_state_dict({k: v.float() for k, v in m.state_dict().items()})
    torch.testing.assert_close(y.float(), ref(x.float()), atol=0.05, rtol=0.05)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_algorithms(name: str) -> None:
    torch.use_deterministic_algorithms(True)
    try:
        m = build(name, 32).train()
        x = torch.randn(2, 32, 8, 8, requires_grad=True)
        m(x).square().mean().backward()
        assert_gradients(m, x)
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("name", NAMES)
def test_no_adaptive_pooling(name: str) -> None:
    """Adaptive pooling has no deterministic CUDA backward; upstream trains deterministically."""
    bad = (torch.nn.AdaptiveAvgPool2d, torch.nn.AdaptiveMaxPool2d, torch.nn.AdaptiveAvgPool1d)
    assert not [type(c).__name__ for c in build(name, 64).modules() if isinstance(c, bad)]


@pytest.mark.parametrize("name", NAMES)
def test_nothing_mixes_across_the_batch(name: str) -> None:
    """In eval mode each sample's output depends on that sample only (no softmax over the batch)."""
    m = off_zero(build(name, 32).eval())
    x = torch.randn(2, 32, 6, 5)
    x2 = x.clone()
    x2[1] = torch.randn(32, 6, 5) * 3
    with torch.no_grad():
        y, y2 = m(x), m(x2)
        torch.testing.assert_close(y2[0], y[0], rtol=0, atol=1e-6)
        assert (y[1] - y2[1]).abs().max() > 1e-2
        # another batch size may use other GEMM blocking: equal up to float32 rounding
        torch.testing.assert_close(m(x[:1]), y[:1], atol=1e-5, rtol=1e-3)
