"""The deployed runtimes on the CPU: a model's ONNX file opened in ONNX Runtime or in OpenVINO,
ready to run one input (``runner``). Both read the same file (``onnx_export.export_onnx``).

OpenVINO's CPU plugin is asked for what a latency measurement needs and what it would otherwise
choose by itself: float32 inference (on CPUs with AMX or AVX-512 BF16 it defaults to bfloat16),
one stream, ``threads`` inference threads and the latency hint; the batch is fixed to the input's
(1), as a deployment compiles it. Only ``openvino.Core`` is used: the package's telemetry lives in
its conversion tools, which are not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ablation.deploy.onnx_export import INPUT, session
from ablation.track.schema import ONNXRUNTIME, OPENVINO, Runtime

Run = Callable[[np.ndarray], Any]  # one inference on a (batch, 3, height, width) float32 input


def onnxruntime_runner(onnx_file: bytes, shape: tuple[int, ...], threads: int) -> Run:
    """A fresh ONNX Runtime session (``threads`` intra-op threads); ``shape`` is not needed: the
    session takes the file's dynamic batch."""
    runtime = session(onnx_file, threads)
    return lambda x: runtime.run(None, {INPUT: x})


def openvino_compiled(onnx_file: bytes, shape: tuple[int, ...], threads: int) -> Any:
    """The file compiled by OpenVINO for its CPU plugin at the static input ``shape``."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(onnx_file)
    model.reshape({INPUT: list(shape)})
    settings = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1}
    return core.compile_model(model, "CPU", {**settings, "PERFORMANCE_HINT": "LATENCY"})


def openvino_runner(onnx_file: bytes, shape: tuple[int, ...], threads: int) -> Run:
    """One infer request of ``openvino_compiled``."""
    request = openvino_compiled(onnx_file, shape, threads).create_infer_request()
    return lambda x: request.infer({INPUT: x})


RUNNERS: dict[str, Callable[[bytes, tuple[int, ...], int], Run]] = {
    ONNXRUNTIME.stem: onnxruntime_runner,
    OPENVINO.stem: openvino_runner,
}


def runner(runtime: Runtime, onnx_file: bytes, shape: tuple[int, ...], threads: int = 1) -> Run:
    """``onnx_file`` ready to run in ``runtime`` on the CPU with ``threads`` threads."""
    if runtime.stem not in RUNNERS:
        raise ValueError(f"{runtime.name} is not a deployed runtime; use one of {', '.join(RUNNERS)}")
    return RUNNERS[runtime.stem](onnx_file, shape, threads)
