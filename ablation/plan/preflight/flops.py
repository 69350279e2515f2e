"""GFLOPs at a given image size, counted exactly on the meta device.

YOLOv5's summary profiles a stride-sized input with thop and scales it to 640 px linearly; that
is wrong for attention whose cost grows faster than the pixel count (criss-cross, non-local),
and which ops thop counts depends on which ``thop`` package is installed. We trace one forward
pass at the real size on the meta device (no memory, no arithmetic) with torch's
``FlopCounterMode``: convolutions and matrix products (mm, bmm, SDPA) as 2 x multiply-adds;
elementwise ops, normalisation and pooling are not counted. For the stock models this is
within 1.5 % of YOLOv5's summary (yolov5s: 16.4 vs 16.6).

A plan counts hundreds of models that share most layers, and a meta forward pass costs about as
much as building the model (torch's meta kernels are Python). ``FlopCache`` counts each layer of
the engine's layer list (``model.model``, the parse_model convention) once per distinct layer and
input: a layer's key is its class tree, every plain attribute, parameter and buffer shape, and the
shapes it receives; a layer seen before returns empty meta outputs of the recorded shapes and adds
its recorded count. Totals equal the uncached count exactly (tests compare them on a plan).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils import _pytree as pytree
from torch.utils.flop_counter import FlopCounterMode

# Modules that return a tensor of their input's shape and run no op the counter counts: skipped
# (their meta kernels are the slowest part of a trace), the total is the same.
UNCOUNTED = (
    nn.modules.batchnorm._BatchNorm,
    nn.SiLU,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.Sigmoid,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.GELU,
    nn.Mish,
    nn.Dropout,
    nn.Identity,
)
PLACEMENT_ATTRIBUTES = frozenset({"i", "f", "np", "type"})  # where parse_model put a layer, not what it computes


def gflops(
    model: nn.Module, imgsz: int = 640, channels: int = 3, cache: FlopCache | None = None, in_place: bool = False
) -> float:
    """GFLOPs of one forward pass at ``imgsz``; ``model`` is left as it was unless ``in_place``
    (then it is moved to the meta device: for a model that is not used again)."""
    model = model if in_place else copy.deepcopy(model)
    kept = _plain_tensors(model)
    meta = model.to("meta").eval()
    for module, name, value in kept:  # strides stay real: the heads' anchors read them as numbers
        setattr(module, name, value)
    # Skipped only for this pass: a module instance can be shared beyond this model (yolov5's
    # ``Conv.default_act`` is one SiLU, a class attribute, in every Conv of every model built in
    # the process), and left patched it would be an identity in every model trained here later.
    skipped = [module for module in meta.modules() if isinstance(module, UNCOUNTED)]
    for module in skipped:
        module.forward = _same  # type: ignore[method-assign]
    try:
        x = torch.empty(1, channels, imgsz, imgsz, device="meta")
        if cache is not None and isinstance(getattr(meta, "model", None), nn.Sequential):
            return cache.count(meta, x) / 1e9
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            meta(x)
        return counter.get_total_flops() / 1e9
    finally:
        for module in skipped:
            vars(module).pop("forward", None)


class FlopCache:
    """Per-layer FLOP counts of the models of one plan (see the module docstring)."""

    def __init__(self) -> None:
        self.layers: dict[tuple[Any, ...], tuple[int, Any, Any]] = {}  # key → (flops, output spec)
        self.hits = 0

    def count(self, meta: nn.Module, x: torch.Tensor) -> int:
        """FLOPs of ``meta(x)``, a model on the meta device whose layers are ``meta.model``."""
        total = [0]
        originals: dict[int, Callable[..., Any]] = {}
        for layer in meta.model:
            originals[id(layer)] = layer.forward
            layer.forward = self._counted(layer, layer.forward, total)
        try:
            with torch.no_grad():
                meta(x)
        finally:
            for layer in meta.model:
                layer.forward = originals[id(layer)]
        return total[0]

    def _counted(self, layer: nn.Module, forward: Callable[..., Any], total: list[int]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            key = (_signature(layer), _shapes((args, kwargs)))
            if key in self.layers:
                self.hits += 1
                flops, spec, tree = self.layers[key]
                total[0] += flops
                return pytree.tree_unflatten([_empty(s) for s in spec], tree)
            with FlopCounterMode(display=False) as counter:
                out = forward(*args, **kwargs)
            leaves, tree = pytree.tree_flatten(out)
            if all(isinstance(leaf, torch.Tensor) for leaf in leaves):
                self.layers[key] = (counter.get_total_flops(), [(t.shape, t.dtype) for t in leaves], tree)
            total[0] += counter.get_total_flops()
            return out

        return run


def _plain_tensors(model: nn.Module) -> list[tuple[nn.Module, str, torch.Tensor]]:
    """Tensors kept as plain attributes (not parameters or buffers) whose values the forward pass
    reads as numbers: a head's ``stride`` (ultralytics' ``Detect`` makes its anchors with
    ``new_full(..., stride)``, which a meta stride cannot fill; the models' ``_apply`` moves it)."""
    return [
        (module, name, value)
        for module in model.modules()
        for name, value in vars(module).items()
        if name == "stride" and isinstance(value, torch.Tensor) and value.device.type != "meta"
    ]


def _same(x: torch.Tensor) -> torch.Tensor:
    return x


def _empty(spec: tuple[torch.Size, torch.dtype]) -> torch.Tensor:
    return torch.empty(spec[0], dtype=spec[1], device="meta")


def _shapes(value: Any) -> tuple[Any, ...]:
    leaves, tree = pytree.tree_flatten(value)
    return str(tree), tuple((tuple(v.shape), str(v.dtype)) if isinstance(v, torch.Tensor) else repr(v) for v in leaves)


def _signature(layer: nn.Module) -> tuple[Any, ...]:
    """What a layer computes, independent of where it sits: every submodule's class, plain
    attributes, parameter and buffer shapes."""
    parts = []
    for name, module in layer.named_modules():
        plain = sorted(
            (k, _plain(v))
            for k, v in vars(module).items()
            if not k.startswith("_") and not (module is layer and k in PLACEMENT_ATTRIBUTES)
        )
        tensors = [
            (k, tuple(t.shape)) for k, t in (*module._parameters.items(), *module._buffers.items()) if t is not None
        ]
        parts.append((name, type(module).__module__, type(module).__qualname__, tuple(plain), tuple(tensors)))
    return tuple(parts)


def _plain(value: Any) -> str:
    """An attribute as a key: tensors by shape, other objects by their type and qualified name."""
    if isinstance(value, torch.Tensor):
        return f"tensor{tuple(value.shape)}"
    if value is None or isinstance(value, int | float | bool | str):
        return repr(value)
    if isinstance(value, tuple | list):
        return f"{type(value).__name__}({', '.join(_plain(v) for v in value)})"
    return f"{type(value).__qualname__}:{getattr(value, '__qualname__', '')}"
