from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.attention.psa import PolarizedSelfAttention as PSA
from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.preflight import build_model
from ablation.plan.surgery import ModelSpec, Placement, apply
from tests.attention.test_properties import assert_gradients, off_zero


def official_params(c: int, sequential: bool) -> int:
    """DeLightCMU/PSA semantic-segmentation/network/PSA.py: conv_q_right (c→1), conv_v_right,
    conv_q_left, conv_v_left (c→c/2), all without bias; conv_up: PSA_p one conv c/2→c without
    bias; PSA_s conv c/2→c/8, LayerNorm([c/8,1,1]), ReLU, conv c/8→c, with biases."""
    i = c // 2
    qv = c + 3 * c * i
    if not sequential:
        return qv + i * c
    h = i // 4
    return qv + (i * h + h) + 2 * h + (h * c + c)


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
@pytest.mark.parametrize("channels", [64, 256])
def test_parameter_count_equals_the_official_class(channels: int, sequential: bool) -> None:
    expected = {(64, False): 8256, (256, False): 131328, (64, True): 7064, (256, True): 111200}
    assert official_params(channels, sequential) == expected[channels, sequential]
    m = ATTENTION.build("psa", channels, sequential=sequential)
    assert sum(p.numel() for p in m.parameters()) == expected[channels, sequential]
    assert ATTENTION.build("psa", channels).sequential is False  # the default is the parallel form


def hand_made() -> tuple[PSA, torch.Tensor]:
    """Four channels, a 1x3 map; queries and values pick input channels."""
    m = PSA(4).eval()
    with torch.no_grad():
        for conv in (m.ch_q, m.ch_v, m.sp_q, m.sp_v):
            conv.weight.zero_()
        m.ch_q.weight[0, 0] = 1.0  # position scores = channel 0
        m.ch_v.weight[0, 1] = m.ch_v.weight[1, 2] = 1.0  # values = channels 1, 2
        m.ch_z.weight.zero_()
        m.ch_z.weight[:, 0] = 1.0  # every output channel reads the first pooled value
        m.sp_q.weight[0, 0] = m.sp_q.weight[1, 3] = 1.0  # query = channels 0, 3
        m.sp_v.weight[0, 1] = m.sp_v.weight[1, 2] = 1.0  # values = channels 1, 2
    ln2 = torch.log(torch.tensor(2.0)).item()
    x = torch.tensor([[[[0.0, 0.0, ln2]], [[1.0, 2.0, 3.0]], [[4.0, -1.0, 0.0]], [[ln2, ln2, ln2]]]])
    return m, x


def test_channel_gate_on_a_hand_made_input() -> None:
    m, x = hand_made()
    # softmax over positions of (0, 0, ln 2) = (1/4, 1/4, 1/2): pooled channel 1 = 0.25 + 0.5 + 1.5
    torch.testing.assert_close(m.channel_gate(x), torch.full((1, 4, 1, 1), 2.25).sigmoid())


def test_spatial_gate_softmax_is_over_the_pooled_query_channels_as_the_paper() -> None:
    m, x = hand_made()
    # pooled query: mean(0, 0, ln 2) = ln2/3 and ln 2; softmax over the two channels
    p = torch.tensor([torch.log(torch.tensor(2.0)) / 3, torch.log(torch.tensor(2.0))]).softmax(0)
    expected = (p[0] * x[0, 1] + p[1] * x[0, 2]).sigmoid().reshape(1, 1, 1, 3)
    torch.testing.assert_close(m.spatial_gate(x), expected)


def test_the_official_psa_p_spatial_softmax_would_be_a_near_constant_gate() -> None:
    torch.manual_seed(0)
    m = PSA(64).eval()
    x = torch.randn(1, 64, 16, 16)
    ours = m.spatial_gate(x)
    # PSA_p in the official code: softmax over H·W after the product, then sigmoid
    q = m.sp_q(x).mean((2, 3)).unsqueeze(1)
    official = (q @ m.sp_v(x).flatten(2)).softmax(-1).sigmoid()
    assert official.max() - official.min() < 0.01 and (official - 0.5).abs().max() < 0.01
    assert ours.max() - ours.min() > 0.3


def test_parallel_sums_and_sequential_composes_the_two_gates() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 32, 5, 7)
    p, s = PSA(32).eval(), PSA(32, sequential=True).eval()
    torch.testing.assert_close(p(x), x * p.channel_gate(x) + x * p.spatial_gate(x))
    y = x * s.channel_gate(x)
    torch.testing.assert_close(s(x), y * s.spatial_gate(y))
    assert isinstance(s.ch_z, torch.nn.Sequential) and isinstance(s.ch_z[1], torch.nn.LayerNorm)
    # the same shared weights, the two forms still compute different things
    s.load_state_dict({k: v for k, v in p.state_dict().items() if not k.startswith("ch_z")}, strict=False)
    assert (p(x) - s(x)).abs().max() > 0.1


def test_sequential_form_reaches_upstream_through_the_yaml(tmp_path: Path) -> None:
    spec = apply(
        ModelSpec.load(model_yaml("yolov5n"), YOLOV5),
        "psa",
        {"sequential": True},
        Placement.from_config({"name": "neck"}),
    ).spec
    model = build_model(spec.write(tmp_path / "m.yaml"), nc=2)
    found = [m for m in model.modules() if isinstance(m, PSA)]
    assert len(found) == 3 and all(m.sequential for m in found)
    assert model(torch.rand(1, 3, 64, 64))[0].shape[-1] == 7


# The registry-wide property tests build the default (parallel) form; the same properties for
# the sequential form:
@pytest.mark.parametrize("shape", [(1, 16, 1, 1), (1, 32, 6, 9), (2, 64, 7, 5)], ids=["1x1", "b1", "odd"])
def test_sequential_form_trains_at_batch_one_and_odd_sizes(shape: tuple[int, ...]) -> None:
    m = off_zero(PSA(shape[1], sequential=True).train())
    x = torch.randn(*shape, requires_grad=True)
    y = m(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    y.square().mean().backward()
    assert_gradients(m, x, every_parameter=shape[0] == 2)


def test_sequential_form_in_half_precision_autocast_and_deterministic_mode() -> None:
    m = PSA(64, sequential=True).eval()
    x = torch.randn(2, 64, 10, 7)
    half = PSA(64, sequential=True).eval()
    half.load_state_dict(m.state_dict())
    y = half.half()(x.half())
    assert y.dtype == torch.float16 and torch.isfinite(y).all()
    torch.testing.assert_close(y.float(), m(x), atol=0.05, rtol=0.05)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.isfinite(m(x)).all()
    torch.use_deterministic_algorithms(True)
    try:
        xg = x.clone().requires_grad_(True)
        m.train()(xg).square().mean().backward()
        assert_gradients(m, xg)
    finally:
        torch.use_deterministic_algorithms(False)
    x2 = x.clone()
    x2[1] = torch.randn(64, 10, 7) * 3
    with torch.no_grad():
        torch.testing.assert_close(m.eval()(x2)[0], m(x)[0], rtol=0, atol=1e-6)


def test_the_readme_override_selects_the_sequential_form() -> None:
    from ablation.config.grid import expand

    entries = expand("run", ["model=yolov5n", "attention=psa", "attention.kwargs.sequential=true,false"])
    assert [e.name for e in entries] == [
        "yolov5n-none",
        "yolov5n-psa-neck-sequential=true",
        "yolov5n-psa-neck-sequential=false",
    ]
    assert [e.cfg.attention.kwargs.sequential for e in entries[1:]] == [True, False]
