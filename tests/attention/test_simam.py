from __future__ import annotations

import torch

from ablation.attention import ATTENTION


def closed_form(x: torch.Tensor, lam: float = 1e-4) -> torch.Tensor:
    x = x.double()
    b, c, h, w = x.shape
    flat = x.reshape(b, c, h * w)
    mu = flat.sum(-1, keepdim=True) / (h * w)
    d = (flat - mu) ** 2
    var = d.sum(-1, keepdim=True) / (h * w - 1)
    e = d / (4 * (var + lam)) + 0.5
    return (flat / (1 + torch.exp(-e))).reshape(b, c, h, w)


def test_no_parameters() -> None:
    for channels in (16, 64, 256):
        assert sum(p.numel() for p in ATTENTION.build("simam", channels).parameters()) == 0


def test_matches_closed_form() -> None:
    x = torch.randn(2, 16, 7, 5) * 3 + 1
    torch.testing.assert_close(ATTENTION.build("simam", 16)(x).double(), closed_form(x), atol=1e-5, rtol=1e-5)


def test_lambda_is_used() -> None:
    x = torch.randn(1, 4, 3, 3) * 1e-2
    y = ATTENTION.build("simam", 4, e_lambda=1.0)(x)
    torch.testing.assert_close(y.double(), closed_form(x, 1.0), atol=1e-7, rtol=1e-5)


def test_single_pixel_is_finite() -> None:
    x = torch.randn(1, 8, 1, 1, requires_grad=True)
    y = ATTENTION.build("simam", 8)(x)
    torch.testing.assert_close(y, x * torch.sigmoid(torch.tensor(0.5)))
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_half_on_large_map_does_not_overflow() -> None:
    x = (torch.randn(1, 2, 160, 160) * 100).half()
    y = ATTENTION.build("simam", 2)(x)
    assert y.dtype == torch.float16 and torch.isfinite(y).all()
