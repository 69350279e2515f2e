"""Feature-map sizes a planned model meets, for modules whose parameters bound them.

A module class that sets ``MAX_SIDE_ARG`` (MHSA: ``"size"``) accepts feature maps up to that
constructor argument per side. Planning computes, from the config, every input size the run
feeds the model (upstream's 256 px build and AMP-check pass, training at ``train.imgsz`` or
multi-scale, validation on rectangular batches padded by half a stride, preflight, the GFLOPs
count and the latency measurement), divides by each such module's stride in the yaml, and
refuses the config before anything trains if a map is larger than the module accepts.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from ablation.attention.registry import ATTENTION
from ablation.engines.dialect import Dialect
from ablation.plan.surgery.graph import ModelSpec

UPSTREAM_BUILD_PX = 256  # yolov5.models.yolo.Model computes its strides with a 256 px pass


def layer_strides(spec: ModelSpec) -> list[int]:
    """Each layer's output stride relative to the image (the detection head: 0), by the modules
    the spec's dialect names strided, resampling or reshaping."""
    dialect = spec.dialect
    strides: list[int] = []
    for i, layer in enumerate(spec.layers):
        stride = max(1 if s < 0 else strides[s] for s in layer.sources(i))
        module, args = layer.module, layer.args
        if module in dialect.detect:
            stride = 0
        elif module in dialect.strided:
            stride *= dialect.strided[module] * (args[2] if len(args) > 2 and isinstance(args[2], int) else 1)
        elif module in dialect.upsample:
            stride //= int(args[1])
        elif module in dialect.space_to_depth:
            stride *= args[0]
        elif module in dialect.depth_to_space:
            stride //= args[0]
        strides.append(stride)
    return strides


def input_sides(cfg: Any, max_stride: int) -> dict[str, int]:
    """The largest image side (px) of each pass a run makes, by what makes it."""
    train = cfg.get("train") or {}
    imgsz = max(math.ceil(int(train.get("imgsz", 640)) / max_stride) * max_stride, 2 * max_stride)  # check_img_size
    sides = {
        "upstream's build pass": UPSTREAM_BUILD_PX,
        f"training at train.imgsz={imgsz}": imgsz,
        "validation (rectangular batches padded by half a stride)": imgsz + max_stride,
    }
    if train.get("multi_scale"):
        sides["multi-scale training"] = (int(imgsz * 1.5) + max_stride - 1) // max_stride * max_stride
    preflight = cfg.get("preflight") or {}
    if preflight.get("enabled", True):
        sides["the preflight step"] = int(preflight.get("imgsz", 64))
    sides["the GFLOPs count"] = int(preflight.get("gflops_imgsz", 640))
    onnx = cfg.get("onnx") or {}
    if onnx.get("enabled", True):
        sides["the ONNX check"] = int(onnx.get("imgsz", 128)) + max_stride  # its second input is one stride wider
    latency = (cfg.get("evaluate") or {}).get("latency") or {}
    if latency.get("enabled", False):
        sides["the latency measurement"] = int(latency.get("imgsz", 640))
    return sides


def _bounded(module: str, args: list[Any], dialect: Dialect) -> tuple[str, int] | None:
    """(registry name, largest side) of an attention layer with ``MAX_SIDE_ARG``, else None."""
    if dialect.host_of(module):  # [*host args, attention, point, *attention args]
        module, attention_args = dialect.block_attention(module, args)
        args = [None, *attention_args]
    try:
        entry = ATTENTION.get(module)
    except KeyError:
        return None
    arg = getattr(entry.cls, "MAX_SIDE_ARG", None)
    if arg is None:
        return None
    names = list(inspect.signature(entry.cls.__init__).parameters)[2:]
    position = names.index(arg) + 1
    limit = args[position] if position < len(args) else inspect.signature(entry.cls.__init__).parameters[arg].default
    return entry.name, int(limit)


def oversized(spec: ModelSpec, cfg: Any) -> str:
    """One sentence naming the fix if a bounded module meets a larger map in this run, else ""."""
    strides = layer_strides(spec)
    max_stride = max(strides[i] for i in spec.layers[-1].sources(len(spec.layers) - 1))
    sides = input_sides(cfg, max_stride)
    worst: tuple[int, str, int, int, str, int] | None = None  # (side, name, limit, stride, pass, px)
    for i, layer in enumerate(spec.layers):
        bounded = _bounded(layer.module, layer.args, spec.dialect)
        if bounded is None:
            continue
        stride = max(1 if s < 0 else strides[s] for s in layer.sources(i))
        for what, px in sides.items():
            side = math.ceil(px / stride)
            if side > bounded[1] and (worst is None or side > worst[0]):
                worst = (side, bounded[0], bounded[1], stride, what, px)
    if worst is None:
        return ""
    side, name, limit, stride, what, px = worst
    return (
        f"{name}'s relative positions cover feature maps up to {limit}x{limit} (attention.kwargs.size={limit}), but at stride {stride} it "
        f"meets {side}x{side} in {what} ({px} px); set attention.kwargs.size={side} or place it at a coarser "
        f"stride (before_sppf, backbone_end)."
    )
