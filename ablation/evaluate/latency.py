"""Inference latency of a trained model: batch 1, fixed square size, warm-up, median of N.

The model is loaded as upstream loads it for inference (``attempt_load``: EMA weights, Conv+BN
fused, eval mode), in half precision on CUDA as upstream's val/detect run it, FP32 on CPU. One
forward pass of the network is timed (no pre-processing, no NMS: NMS time depends on how many
boxes a model proposes, not on its architecture), under ``torch.inference_mode``, with
``torch.cuda.synchronize`` around each pass on CUDA. The thread count is the process's (the
job's ``threads``), recorded in the device label.

It runs in the training child after training, where upstream's ``init_seeds(deterministic=True)``
left ``torch.use_deterministic_algorithms(True)`` and ``cudnn.deterministic`` set: they select
slower kernels (or raise) on CUDA. The passes are timed with the flags a fresh process running
upstream's ``val.py``/``detect.py`` has (``inference_flags``), and the training's are put back.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ablation.track.schema import Runtime


@dataclass(frozen=True)
class Latency:
    median_ms: float
    p90_ms: float
    device: str  # "cpu (2 threads)" or the GPU's name
    precision: str  # "fp32" | "fp16"
    imgsz: int
    warmup: int
    repeats: int


def measure_latency(model: Any, imgsz: int = 640, warmup: int = 5, repeats: int = 30) -> Latency:
    """Time ``repeats`` forward passes of a (1, 3, imgsz, imgsz) input after ``warmup`` untimed ones."""
    import torch

    if repeats < 1 or warmup < 0:
        raise ValueError(f"latency needs repeats >= 1 and warmup >= 0 (got repeats={repeats}, warmup={warmup})")
    stride = int(max(getattr(model, "stride", torch.tensor([32])).tolist()))
    if imgsz <= 0 or imgsz % stride:
        raise ValueError(f"latency imgsz={imgsz} must be a positive multiple of the model's stride {stride}")
    parameter = next(model.parameters())
    generator = torch.Generator().manual_seed(0)  # never draws from the global RNG
    x = torch.rand(1, 3, imgsz, imgsz, generator=generator).to(parameter.device, parameter.dtype)
    model.eval()
    with inference_flags(), torch.inference_mode():
        for _ in range(warmup):
            _timed(model, x)
        times = [_timed(model, x) for _ in range(repeats)]
    return Latency(
        median_ms=statistics.median(times),
        p90_ms=_percentile(times, 90),
        device=device_label(parameter.device),
        precision="fp16" if parameter.dtype == torch.float16 else "fp32",
        imgsz=imgsz,
        warmup=warmup,
        repeats=repeats,
    )


@contextlib.contextmanager
def inference_flags() -> Iterator[None]:
    """Inside the block torch's determinism flags are a fresh process's (as upstream's val.py and
    detect.py run: no deterministic algorithms, ``cudnn.deterministic`` and ``cudnn.benchmark``
    off); the caller's are restored after."""
    import torch

    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic = torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[2], saved[3]


def device_label(device: Any) -> str:
    """``cpu (N threads)`` or the CUDA device's name."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({torch.get_num_threads()} threads)"


def _timed(model: Any, x: Any) -> float:
    """Milliseconds of one forward pass, the device synchronised before and after."""
    import torch

    cuda = x.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(x.device)
    start = time.perf_counter()
    model(x)
    if cuda:
        torch.cuda.synchronize(x.device)
    return (time.perf_counter() - start) * 1e3


def measure_deployed_latency(
    model: Any, runtime: Runtime, imgsz: int = 640, warmup: int = 5, repeats: int = 30, threads: int | None = None
) -> Latency:
    """Batch-1 latency of ``model``'s ONNX export (``ablation.deploy``: TorchScript exporter, opset
    17) in a deployed ``runtime`` on the CPU (``schema.ONNXRUNTIME``, ``schema.OPENVINO``), timed as
    ``measure_latency`` times PyTorch: ``warmup`` untimed runs, then the median and 90th
    percentile of ``repeats``, one inference each (no pre-processing, no NMS). ``threads``: the
    runtime's inference threads, by default torch's (the job's), so every runtime gets the same cores."""
    import torch

    from ablation.deploy.onnx_export import export_onnx
    from ablation.deploy.runtimes import runner

    if repeats < 1 or warmup < 0:
        raise ValueError(f"latency needs repeats >= 1 and warmup >= 0 (got repeats={repeats}, warmup={warmup})")
    threads = threads or torch.get_num_threads()
    parameter = next(model.parameters())
    if parameter.dtype != torch.float32 or parameter.device.type != "cpu":
        model = model.float().cpu()
    x = torch.rand(1, 3, imgsz, imgsz, generator=torch.Generator().manual_seed(0)).numpy()
    run = runner(runtime, export_onnx(model, imgsz, imgsz), x.shape, threads)
    for _ in range(warmup):
        run(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(x)
        times.append((time.perf_counter() - start) * 1e3)
    return Latency(
        median_ms=statistics.median(times),
        p90_ms=_percentile(times, 90),
        device=f"cpu ({threads} threads)",
        precision="fp32",
        imgsz=imgsz,
        warmup=warmup,
        repeats=repeats,
    )


def _percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default) of ``values``."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
