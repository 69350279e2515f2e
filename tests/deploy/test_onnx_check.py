"""The ONNX check: export, a fresh ONNX Runtime session at two batch sizes, and the comparison."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from ablation.deploy.guarded import Crashed, run_guarded
from ablation.deploy.onnx_export import (
    INPUT,
    check_onnx,
    check_shapes,
    describe_error,
    export_onnx,
    relative_difference,
)
from ablation.engines import engine
from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.surgery import ModelSpec, Placement, apply


def tiny_model(attention: str, tmp_path: Path) -> nn.Module:
    """yolov5n with ``attention`` in the neck, untrained, fused and in eval mode (the engine's seam)."""
    result = apply(
        ModelSpec.load(model_yaml("yolov5n"), YOLOV5), attention, {}, Placement.from_config({"name": "neck"})
    )
    return engine("yolov5").inference_model(result.spec.write(tmp_path / f"{attention}.yaml"), nc=3)


class Unexportable(nn.Module):
    """A toy with an op the exporter has no ONNX symbolic for (a 2-D FFT)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y + torch.fft.fft2(y).real


@pytest.mark.parametrize("attention", ["se", "simam", "cbam"])
def test_modules_export_and_match_pytorch(attention: str, tmp_path: Path) -> None:
    model = tiny_model(attention, tmp_path)
    result = check_onnx(model, imgsz=64)
    assert result.ok, result.error
    assert result.max_rel_diff is not None and 0 <= result.max_rel_diff < 1e-4


def test_an_export_runs_in_a_fresh_session_at_both_batch_sizes(tmp_path: Path) -> None:
    model = tiny_model("se", tmp_path)
    assert check_shapes(model, 64) == [(64, 64), (64, 96)]
    onnx_file = export_onnx(model, 64, 96)
    fresh = ort.InferenceSession(onnx_file, providers=["CPUExecutionProvider"])
    for batch in (1, 4):
        x = torch.rand(batch, 3, 64, 96)
        got = fresh.run(None, {INPUT: x.numpy()})[0]
        with torch.no_grad():
            want = model(x)[0].numpy()
        assert got.shape == want.shape == (batch, 3 * (8 * 12 + 4 * 6 + 2 * 3), 8)
        assert relative_difference(got, want) < 1e-4


def test_an_unexportable_op_is_named() -> None:
    result = check_onnx(Unexportable(), imgsz=64)
    assert not result.ok and result.max_rel_diff is None
    assert result.error == (
        "exporting at 64x64: UnsupportedOperatorError: Exporting the operator 'aten::fft_fft2' "
        "to ONNX opset version 17 is not supported"
    )


def test_a_runtime_failure_names_the_op_and_layer(tmp_path: Path) -> None:
    result = check_onnx(tiny_model("criss_cross", tmp_path), imgsz=64)
    assert result.error == (
        "loading the 64x64 export in ONNX Runtime: op EyeLike (node /model/model.18/EyeLike, "
        "layer 18 (CrissCrossAttention)) has no ONNX Runtime kernel"
    )


def test_a_runtime_error_is_one_line() -> None:
    err = RuntimeError(
        "[ONNXRuntimeError] : 1 : FAIL : Non-zero status code returned while running Reshape node. "
        "Name:'/model/model.3/Reshape_31' Status Message: /src/onnxruntime/core/reshape_helper.h:33 "
        "onnxruntime::ReshapeHelper::ReshapeHelper(const onnxruntime::TensorShape&) i < n was false. "
        "The dimension with value zero exceeds the dimension size of the input tensor.\nmore"
    )
    assert describe_error(err, "running") == (
        "running: op Reshape (node /model/model.3/Reshape_31) failed in ONNX Runtime: "
        "The dimension with value zero exceeds the dimension size of the input tensor."
    )


def test_relative_difference_floors_small_values() -> None:
    want = np.array([100.0, 0.001, 0.5])
    assert relative_difference(want + np.array([0.01, 1e-6, 0.0]), want) == pytest.approx(1e-4)
    assert relative_difference(want[:2], want) == float("inf")


def square_or_die(n: int) -> int:
    if n == 2:
        os.kill(os.getpid(), signal.SIGFPE)
    return n * n


def test_a_child_that_dies_fails_its_item_only() -> None:
    results = run_guarded(square_or_die, [1, 2, 3, 4], workers=1)
    assert results[0] == 1 and results[2:] == [9, 16]
    assert results[1] == Crashed(-signal.SIGFPE)
    assert results[1].sentence() == "the process died of signal SIGFPE"
