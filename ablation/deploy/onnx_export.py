"""A built model exported to ONNX and run in ONNX Runtime on the CPU, compared with PyTorch.

Engine-blind: it takes the ``torch.nn.Module`` an engine built (fused, eval mode: the engine's
``inference_model`` or ``load_inference_model``) and exports its first output (the head's decoded
predictions; both engines' heads return them first in eval mode). The export uses torch's
TorchScript exporter (``dynamo=False``): the dynamo exporter writes opset 18 when 17 is asked and
silently makes the batch static for some attention modules. The batch axis is dynamic, the image
size static (the heads compute their grids from it): one export per size.

A check is proven by running the file, not by the exporter's success: each export is loaded in a
fresh ONNX Runtime session and run at batch 1 and batch 4, and its output compared element-wise
with PyTorch's on the same input (``relative_difference``). A failure is one sentence naming the op
and the layer it sits in when the exporter or the runtime names them (``describe_error``).
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

BATCHES = (1, 4)
# |PyTorch| below this is compared as if it were this large (``relative_difference``): a score of
# 0.001 (an untrained head's objectness) is 6.6 logits from 0, where float32 rounding of a deep
# net moves it by ~1e-5 of itself; at 0.01 that is an absolute 1e-9 and is not called a difference.
FLOOR = 1e-2
INPUT, OUTPUT = "images", "output"


@dataclass(frozen=True)
class OnnxCheck:
    """The outcome of one model's check: the largest relative difference, or why it failed."""

    max_rel_diff: float | None = None
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error


class FirstOutput(nn.Module):
    """The model with its first output only (a tensor, however the head nests the rest)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        while isinstance(out, list | tuple):
            out = out[0]
        if isinstance(out, dict):
            out = next(iter(out.values()))
        return out


def max_stride(model: nn.Module) -> int:
    """The model's largest stride (``model.stride``, both engines' convention; 32 when absent)."""
    stride = getattr(model, "stride", None)
    return int(max(stride.tolist())) if isinstance(stride, torch.Tensor) else 32


def check_shapes(model: nn.Module, imgsz: int) -> list[tuple[int, int]]:
    """The input sizes (height, width) a check exports: square at ``imgsz`` and a rectangle one
    stride wider (a module that mixes up height and width fails there), rounded up to the stride."""
    stride = max_stride(model)
    side = -(-imgsz // stride) * stride
    return [(side, side), (side, side + stride)]


def export_onnx(model: nn.Module, height: int, width: int, opset: int = 17) -> bytes:
    """The ONNX file of ``model``'s first output for (batch, 3, height, width) inputs, batch dynamic."""
    import warnings

    wrapped = FirstOutput(model).eval()
    x = torch.zeros(1, 3, height, width, dtype=next(model.parameters()).dtype)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about python values taken as constants
        torch.onnx.export(
            wrapped,
            (x,),
            buffer,
            opset_version=opset,
            dynamo=False,
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
        )
    return buffer.getvalue()


def session(onnx_file: bytes, threads: int = 1) -> Any:
    """A fresh ONNX Runtime session on the CPU with ``threads`` intra-op threads (1 inter-op)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 4  # the runtime's own log off: its error comes back as the exception
    return ort.InferenceSession(onnx_file, options, providers=["CPUExecutionProvider"])


def relative_difference(got: np.ndarray, want: np.ndarray) -> float:
    """max |got − want| / max(|want|, FLOOR) over all elements (a shape mismatch is infinite)."""
    if got.shape != want.shape:
        return float("inf")
    return float((np.abs(got.astype(np.float64) - want) / np.maximum(np.abs(want.astype(np.float64)), FLOOR)).max())


def check_onnx(model: nn.Module, imgsz: int = 128, opset: int = 17, batches: Sequence[int] = BATCHES) -> OnnxCheck:
    """Export ``model`` at each of ``check_shapes`` and compare ONNX Runtime with PyTorch at each of
    ``batches`` on the same random input; the largest relative difference, or the first failure."""
    start = time.perf_counter()
    model = model.eval()
    generator = torch.Generator().manual_seed(0)
    worst = 0.0
    stage = "exporting"
    try:
        for height, width in check_shapes(model, imgsz):
            stage = f"exporting at {height}x{width}"
            onnx_file = export_onnx(model, height, width, opset)
            stage = f"loading the {height}x{width} export in ONNX Runtime"
            ort_session = session(onnx_file)
            for batch in batches:
                x = torch.rand(batch, 3, height, width, generator=generator)
                stage = f"running the {height}x{width} export at batch {batch} in ONNX Runtime"
                got = ort_session.run(None, {INPUT: x.numpy()})[0]
                with torch.no_grad():
                    want = FirstOutput(model)(x).numpy()
                worst = max(worst, relative_difference(got, want))
                if got.shape != want.shape:
                    return OnnxCheck(error=f"{stage}: output shape {got.shape}, PyTorch's {want.shape}")
    except Exception as err:
        return OnnxCheck(error=describe_error(err, stage, model), seconds=time.perf_counter() - start)
    return OnnxCheck(max_rel_diff=worst, seconds=time.perf_counter() - start)


# ONNX Runtime names the node: "... for EyeLike(9) node with name '/model.18/EyeLike'" (no kernel)
# or "... while running Reshape node. Name:'/model.18/Reshape_31' ..." (a kernel failed).
_NODE = re.compile(r"(?:for (\w+)\(\d+\) node with name|running (\w+) node\. Name:)\s*'([^']+)'")
_LAYER = re.compile(r"^/(?:model/)?model\.(\d+)/")


def describe_error(err: BaseException, stage: str, model: nn.Module | None = None) -> str:
    """One line: the stage, the op and the layer (index and class) when named, the error's first line."""
    text = str(err).strip()
    first = text.splitlines()[0] if text else type(err).__name__
    node = _NODE.search(text)
    if node is None:
        return f"{stage}: {type(err).__name__}: {_short(first)}"
    op, name = node.group(1) or node.group(2), node.group(3)
    where = f"node {name}"
    layer = _LAYER.match(name)
    layers = getattr(model, "model", None)
    if layer and isinstance(layers, nn.Sequential) and int(layer.group(1)) < len(layers):
        where += f", layer {layer.group(1)} ({type(layers[int(layer.group(1))]).__name__})"
    kind = "has no ONNX Runtime kernel" if node.group(1) else "failed in ONNX Runtime"
    detail = text.split("Status Message:", 1)[1].strip().splitlines()[0] if "Status Message:" in text else ""
    detail = detail.rsplit(" was false. ", 1)[-1]  # the runtime's failed condition and source location
    detail = f": {_short(detail)}" if detail else ""
    return f"{stage}: op {op} ({where}) {kind}{detail}"


def _short(text: str, limit: int = 240) -> str:
    text = re.sub(r"/\S+/onnxruntime/\S+:\d+ \S+ ", "", text)  # the runtime's source location
    return text if len(text) <= limit else text[: limit - 3] + "..."
