"""Latency: batch 1, warm-up, median and 90th percentile of the requested repeats."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ablation.evaluate.latency import _percentile, device_label, measure_deployed_latency, measure_latency
from ablation.track.schema import ONNXRUNTIME, OPENVINO, PYTORCH


def tiny_model() -> nn.Module:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.SiLU(), nn.Conv2d(8, 8, 3, 2, 1))
    model.stride = torch.tensor([8.0, 16.0, 32.0])  # as a yolov5 model carries it
    return model


def test_latency_is_positive_with_median_at_most_p90() -> None:
    latency = measure_latency(tiny_model(), imgsz=64, warmup=2, repeats=7)
    assert 0 < latency.median_ms <= latency.p90_ms
    assert (latency.imgsz, latency.warmup, latency.repeats, latency.precision) == (64, 2, 7, "fp32")
    assert latency.device == f"cpu ({torch.get_num_threads()} threads)"


def test_every_timed_pass_is_one_forward_of_a_batch_of_one() -> None:
    shapes: list[tuple[int, ...]] = []
    model = tiny_model()
    model.register_forward_pre_hook(lambda _, args: shapes.append(tuple(args[0].shape)))
    measure_latency(model, imgsz=96, warmup=3, repeats=4)
    assert shapes == [(1, 3, 96, 96)] * 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"imgsz": 64, "repeats": 0}, r"^latency needs repeats >= 1 and warmup >= 0 \(got repeats=0, warmup=5\)$"),
        ({"imgsz": 50}, r"^latency imgsz=50 must be a positive multiple of the model's stride 32$"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        measure_latency(tiny_model(), **kwargs)


def test_percentile_is_numpys_linear_percentile() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 7.0]
    assert _percentile(values, 90) == pytest.approx(float(np.percentile(values, 90)))
    assert _percentile([3.0], 90) == 3.0


def test_device_label_names_the_thread_count() -> None:
    assert device_label(torch.device("cpu")) == f"cpu ({torch.get_num_threads()} threads)"


def test_passes_run_with_a_fresh_processes_flags_and_trainings_flags_come_back() -> None:
    """Training leaves upstream's init_seeds(deterministic=True) flags set; upstream's val/detect
    time the model without them."""
    seen: list[tuple[bool, bool, bool]] = []
    model = tiny_model()
    model.register_forward_pre_hook(
        lambda *_: seen.append(
            (
                torch.are_deterministic_algorithms_enabled(),
                torch.backends.cudnn.deterministic,
                torch.backends.cudnn.benchmark,
            )
        )
    )
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    torch.use_deterministic_algorithms(True, warn_only=True)  # as train.deterministic=warn leaves them
    torch.backends.cudnn.deterministic = True
    try:
        measure_latency(model, imgsz=64, warmup=1, repeats=2)
        assert seen == [(False, False, False)] * 3
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]


def test_best_pt_is_loaded_fused_in_eval_mode_and_fp32_on_cpu(best_pt) -> None:
    from ablation.engines.yolov5.validate import load_inference_model

    model = load_inference_model(best_pt, "cpu")
    assert not model.training and all(not m.training for m in model.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # Conv+BN fused
    assert {p.dtype for p in model.parameters()} == {torch.float32}


@pytest.mark.parametrize("runtime", [ONNXRUNTIME, OPENVINO], ids=lambda r: r.stem)
def test_deployed_latency_times_the_export_with_the_stated_threads(best_pt, runtime) -> None:
    from ablation.engines.yolov5.validate import load_inference_model

    model = load_inference_model(best_pt, "cpu")
    latency = measure_deployed_latency(model, runtime, imgsz=64, warmup=1, repeats=4, threads=1)
    assert 0 < latency.median_ms <= latency.p90_ms
    assert (latency.device, latency.precision, latency.imgsz, latency.warmup, latency.repeats) == (
        "cpu (1 threads)",
        "fp32",
        64,
        1,
        4,
    )
    with pytest.raises(ValueError, match=r"^latency needs repeats >= 1 and warmup >= 0 \(got repeats=0, warmup=1\)$"):
        measure_deployed_latency(tiny_model(), runtime, imgsz=64, warmup=1, repeats=0)
    with pytest.raises(ValueError, match=r"^PyTorch is not a deployed runtime; use one of latency_ort, latency_ov$"):
        measure_deployed_latency(model, PYTORCH, imgsz=64, warmup=0, repeats=1)
