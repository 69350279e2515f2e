from __future__ import annotations

import pytest
import torch

from ablation.attention import ATTENTION


@pytest.mark.parametrize("channels", [16, 64, 256])
def test_parameter_count(channels: int) -> None:
    h = max(channels // 16, 1)
    expected = (channels * h + h) + (h * channels + channels) + (2 * 7 * 7 + 1)
    assert sum(p.numel() for p in ATTENTION.build("cbam", channels).parameters()) == expected


def test_the_authors_form_has_their_parameter_count() -> None:
    """Jongchan/attention-module, MODELS/cbam.py, at 64 channels, reduction 16: ChannelGate's two
    nn.Linear (64·4 + 4 and 4·64 + 64 = 580), SpatialGate's BasicConv(2, 1, 7, relu=False): a
    bias-free 7×7 conv (98) and BatchNorm2d(1) (weight and bias, 2): 680. The paper's form has the
    conv's bias instead of the BatchNorm: 679."""
    official = ATTENTION.build("cbam", 64, spatial_bn=True)
    assert sum(p.numel() for p in official.parameters()) == 680
    assert sum(p.numel() for p in ATTENTION.build("cbam", 64).parameters()) == 679
    assert official.spatial.bias is None and isinstance(official.spatial_bn, torch.nn.BatchNorm2d)
    assert (official.spatial_bn.eps, official.spatial_bn.momentum) == (1e-5, 0.01)  # BasicConv's


def test_the_authors_form_is_conv_then_batchnorm_then_sigmoid() -> None:
    m = ATTENTION.build("cbam", 32, spatial_bn=True)
    x = torch.randn(4, 32, 9, 5)
    m.train()(x)  # moves the running statistics away from their start
    m.eval()
    bn = m.spatial_bn
    assert bn.num_batches_tracked == 1 and not torch.equal(bn.running_mean, torch.zeros(1))
    pooled = torch.cat((x.mean(1, keepdim=True), x.amax(1, keepdim=True)), 1)
    conv = torch.nn.functional.conv2d(pooled, m.spatial.weight, None, padding=3)
    expected = torch.nn.functional.batch_norm(conv, bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=1e-5)
    torch.testing.assert_close(m.spatial_map(x), expected.sigmoid())
    m.train()(torch.randn(1, 32, 1, 1))  # a 1×1 map at batch 1 (preflight) still trains


def test_yolov5s_weight_init_keeps_the_authors_batchnorm_settings() -> None:
    from yolov5.utils.torch_utils import initialize_weights

    model = torch.nn.Sequential(ATTENTION.build("cbam", 64, spatial_bn=True), torch.nn.BatchNorm2d(64))
    initialize_weights(model)  # upstream sets eps=1e-3, momentum=0.03 on every plain nn.BatchNorm2d
    assert (model[1].eps, model[1].momentum) == (1e-3, 0.03)
    assert (model[0].spatial_bn.eps, model[0].spatial_bn.momentum) == (1e-5, 0.01)


def test_spatial_conv_is_7x7_over_two_maps() -> None:
    conv = ATTENTION.build("cbam", 64).spatial
    assert conv.kernel_size == (7, 7) and conv.in_channels == 2 and conv.out_channels == 1
    assert conv.padding == (3, 3)


def test_output_is_x_times_mc_times_ms_without_residual() -> None:
    m = ATTENTION.build("cbam", 32).eval()
    x = torch.randn(2, 32, 9, 5)
    mlp = m.mlp
    mc = (mlp(x.mean((2, 3), keepdim=True)) + mlp(x.amax((2, 3), keepdim=True))).sigmoid()
    xc = x * mc
    pooled = torch.cat((xc.mean(1, keepdim=True), xc.amax(1, keepdim=True)), 1)
    ms = torch.nn.functional.conv2d(pooled, m.spatial.weight, m.spatial.bias, padding=3).sigmoid()
    y = m(x)
    torch.testing.assert_close(y, x * mc * ms)
    assert not torch.allclose(y, x * mc * ms + x, atol=1e-3)
    assert (y.abs() <= x.abs() + 1e-6).all()  # both gates are in (0, 1): nothing is added
