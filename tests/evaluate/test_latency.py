"""Latency: batch 1, warm-up, median and 90th percentile of the requested repeats."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ablation.evaluate.latency import _percentile, device_label, measure_latency


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
