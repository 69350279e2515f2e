"""The deployed runtimes: the same ONNX file in ONNX Runtime and in OpenVINO computes PyTorch's output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ablation.deploy.onnx_export import FirstOutput, export_onnx, relative_difference
from ablation.deploy.runtimes import openvino_compiled, runner
from ablation.engines import engine
from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.surgery import ModelSpec, Placement, apply
from ablation.track.schema import ONNXRUNTIME, OPENVINO, PYTORCH


@pytest.fixture(scope="module")
def cbam_model(tmp_path_factory: pytest.TempPathFactory) -> torch.nn.Module:
    """yolov5n with CBAM in the neck (pooling, a 7x7 gate, sigmoids), untrained, fused, eval."""
    spec = ModelSpec.load(model_yaml("yolov5n"), YOLOV5)
    result = apply(spec, "cbam", {}, Placement.from_config({"name": "neck"}))
    return engine("yolov5").inference_model(result.spec.write(tmp_path_factory.mktemp("m") / "cbam.yaml"), nc=3)


@pytest.mark.parametrize("runtime", [ONNXRUNTIME, OPENVINO], ids=lambda r: r.stem)
def test_each_runtime_computes_the_pytorch_output(cbam_model: torch.nn.Module, runtime) -> None:
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = FirstOutput(cbam_model)(x).numpy()
    run = runner(runtime, export_onnx(cbam_model, 96, 128), tuple(x.shape), threads=1)
    got = run(x.numpy())[0]
    got = np.asarray(got[0] if isinstance(got, list) else got)
    assert got.shape == want.shape == (1, 3 * (12 * 16 + 6 * 8 + 3 * 4), 8)
    assert relative_difference(got, want) < 1e-4


def test_openvino_compiles_fp32_with_the_stated_threads(cbam_model: torch.nn.Module) -> None:
    """On a CPU with bfloat16 units OpenVINO would otherwise infer in bfloat16 and use every core."""
    import openvino as ov

    compiled = openvino_compiled(export_onnx(cbam_model, 64, 64), (1, 3, 64, 64), threads=1)
    assert compiled.get_property("INFERENCE_NUM_THREADS") == 1
    assert compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32
    assert [list(i.get_shape()) for i in compiled.inputs] == [[1, 3, 64, 64]]


def test_pytorch_is_not_a_deployed_runtime(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^PyTorch is not a deployed runtime; use one of latency_ort, latency_ov$"):
        runner(PYTORCH, b"", (1, 3, 64, 64))
