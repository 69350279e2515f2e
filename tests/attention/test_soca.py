from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.soca import SOCA, newton_schulz_sqrt


def eigh_sqrt(a: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(a.double())
    return (vecs @ torch.diag_embed(vals.clamp_min(0).sqrt()) @ vecs.transpose(-1, -2)).float()


def random_spd(b: int, c: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(b, c, c))
    vals = torch.rand(b, c) * 1.5 + 0.5
    return q @ torch.diag_embed(vals) @ q.transpose(-1, -2)


@pytest.mark.parametrize("channels", [16, 64, 256])
def test_parameter_count(channels: int) -> None:
    h = channels // 8
    expected = (channels * h + h) + (h * channels + channels)
    assert sum(p.numel() for p in ATTENTION.build("soca", channels).parameters()) == expected


def test_newton_schulz_square_root_squared_is_the_normalised_covariance() -> None:
    a = random_spd(3, 16)
    trace = a.diagonal(dim1=1, dim2=2).sum(-1).view(-1, 1, 1)
    target = a / trace

    def error(iterations: int) -> float:
        s = newton_schulz_sqrt(a, iterations) / trace.sqrt()
        return (s @ s - target).abs().max().item() / target.abs().max().item()

    errors = [error(i) for i in (1, 3, 5, 10)]
    assert errors == sorted(errors, reverse=True) and errors[0] > 0.3
    assert errors[2] < 0.06  # the paper's 5 iterations: an approximation, within 6 %
    assert errors[3] < 1e-5  # converged
    s = newton_schulz_sqrt(a, 10)
    torch.testing.assert_close(s @ s, a, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(s, eigh_sqrt(a), atol=1e-4, rtol=1e-4)


def test_statistic_is_row_mean_of_covariance_square_root() -> None:
    m = SOCA(16, iterations=15)
    x = torch.randn(2, 16, 9, 7)
    f = x.flatten(2)
    f = f - f.mean(-1, keepdim=True)
    cov = f @ f.transpose(1, 2) / 63
    expected = eigh_sqrt(cov).mean(-1).view(2, 16, 1, 1)
    torch.testing.assert_close(m.channel_statistic(x), expected, atol=1e-4, rtol=1e-3)
    torch.testing.assert_close(m(x), x * m.fc(expected), atol=1e-4, rtol=1e-4)


def test_single_pixel_gives_zero_statistic_not_nan() -> None:
    m = SOCA(32).train()
    x = torch.randn(2, 32, 1, 1, requires_grad=True)
    stat = m.channel_statistic(x)
    assert torch.equal(stat, torch.zeros_like(stat))
    y = m(x)
    torch.testing.assert_close(y, x * m.fc(torch.zeros(1, 32, 1, 1)))
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in m.parameters())


def test_half_precision_matches_float32_where_float16_maths_would_overflow() -> None:
    ref = SOCA(64).eval()
    half = SOCA(64).eval()
    half.load_state_dict(ref.state_dict())
    half.half()
    x = torch.randn(2, 64, 12, 10) * 60  # covariance sums reach ~4e5, beyond float16's 65504
    y = half(x.half())
    assert y.dtype == torch.float16 and torch.isfinite(y).all()
    torch.testing.assert_close(y.float(), ref(x.half().float()), atol=0.05, rtol=0.01)
    f = x.half().flatten(2)
    assert not torch.isfinite(f @ f.transpose(1, 2)).all()  # what an unguarded float16 path meets


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_statistic_stays_float32_under_autocast(dtype: torch.dtype) -> None:
    m = SOCA(32)
    x = torch.randn(2, 32, 7, 5)
    with torch.autocast("cpu", dtype=dtype):
        stat = m.channel_statistic(x)
        y = m(x)
    assert stat.dtype == torch.float32 and y.dtype == torch.float32
    torch.testing.assert_close(stat, m.channel_statistic(x), rtol=0, atol=0)
