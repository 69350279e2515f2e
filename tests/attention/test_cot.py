from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.cot import CoT


def official_params(c: int, k: int = 3) -> int:
    """JDAI-CV/CoTNet models/cotnet.py, CotLayer(c, kernel_size=3): key_embed (grouped conv, 4
    groups, no bias + BN), embed (conv 2c→c/2 no bias, BN, conv c/2→k²c/8 with bias, GroupNorm),
    conv1x1 (no bias + BN), bn, se (conv c→a, BN, conv a→2c, both with bias), a = max(c/2, 32)."""
    a = max(c * 2 // 4, 32)
    kernels = k * k * c // 8
    key = k * k * c * (c // 4) + 2 * c
    embed = 2 * c * (c // 2) + 2 * (c // 2) + (c // 2) * kernels + kernels + 2 * kernels
    value = c * c + 2 * c
    se = (c * a + a) + 2 * a + (a * 2 * c + 2 * c)
    return key + embed + value + 2 * c + se


@pytest.mark.parametrize(("channels", "expected"), [(64, 26744), (256, 417248)])
def test_parameter_count_equals_the_official_layer(channels: int, expected: int) -> None:
    assert official_params(channels) == expected
    assert sum(p.numel() for p in ATTENTION.build("cot", channels).parameters()) == expected


def reference_aggregation(v: torch.Tensor, kernels: torch.Tensor, k: int) -> torch.Tensor:
    """The official CUDA kernel's loop: out[c, h, w] = Σ_taps kernels[c % (C/8), tap, h, w] · v[c, h+dy, w+dx]."""
    b, c, h, w = v.shape
    kernels = kernels.reshape(b, c // 8, k * k, h, w)
    out = torch.zeros_like(v)
    for ch in range(c):
        for tap in range(k * k):
            dy, dx = tap // k - k // 2, tap % k - k // 2
            for y in range(h):
                for x in range(w):
                    if 0 <= y + dy < h and 0 <= x + dx < w:
                        out[:, ch, y, x] += kernels[:, ch % (c // 8), tap, y, x] * v[:, ch, y + dy, x + dx]
    return out


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_local_aggregation_matches_the_official_kernel_loop(kernel_size: int) -> None:
    torch.manual_seed(0)
    m = CoT(16, kernel_size=kernel_size)
    v = torch.randn(2, 16, 4, 5)
    kernels = torch.randn(2, 2 * kernel_size**2, 4, 5)
    torch.testing.assert_close(m.aggregate(v, kernels), reference_aggregation(v, kernels, kernel_size))


def test_hand_made_kernels_copy_and_shift() -> None:
    m = CoT(8)
    v = torch.arange(12.0).reshape(1, 1, 3, 4).repeat(1, 8, 1, 1)
    centre = torch.zeros(1, 9, 3, 4)
    centre[:, 4] = 1.0  # the centre tap: out = v
    torch.testing.assert_close(m.aggregate(v, centre), v)
    top_left = torch.zeros(1, 9, 3, 4)
    top_left[:, 0] = 2.0  # the (-1, -1) tap, weight 2: out[y, x] = 2 · v[y-1, x-1], 0 outside
    shifted = torch.zeros_like(v)
    shifted[..., 1:, 1:] = 2 * v[..., :-1, :-1]
    torch.testing.assert_close(m.aggregate(v, top_left), shifted)


def test_output_is_the_softmax_mix_of_static_and_dynamic_context() -> None:
    torch.manual_seed(0)
    m = CoT(32).eval()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(2, 32, 5, 6)
    static = m.key(x)
    dynamic = m.act(m.bn(m.aggregate(m.value(x), m.attention(torch.cat((x, static), 1)))))
    logits = m.fusion((static + dynamic).mean((2, 3), keepdim=True)).reshape(2, 32, 2)
    a = logits.softmax(-1)
    expected = dynamic * a[..., 0, None, None] + static * a[..., 1, None, None]
    torch.testing.assert_close(m(x), expected)
    assert not torch.allclose(m(x), x, atol=1e-2)  # a new feature map, not a rescaled input


def test_yolov5s_widest_layer_and_refusal_of_other_widths() -> None:
    m = CoT(512).eval()
    x = torch.randn(1, 512, 3, 5)
    assert m(x).shape == x.shape
    with pytest.raises(ValueError, match=r"CoT needs a multiple of 8 channels .* got 20; place it after a layer"):
        CoT(20)
    with pytest.raises(ValueError, match=r"CoT kernel_size must be odd to keep the spatial size, got 4\."):
        CoT(16, kernel_size=4)
