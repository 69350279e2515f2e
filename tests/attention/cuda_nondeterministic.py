"""The operations that raise under ``torch.use_deterministic_algorithms(True)``, as aten ops.

Source: the docstring of ``torch.use_deterministic_algorithms`` in torch 2.13 (the pinned
version; ``help(torch.use_deterministic_algorithms)``), the list headed "The following
normally-nondeterministic operations will throw a RuntimeError when mode=True". Each entry is
that list's wording, the aten overload packets the operation reaches the dispatcher as (for "when
attempting to differentiate": its backward op, which is what raises), and a condition on the
call's arguments where the wording has one. Entries that hold only for quantized tensors or the
losses no attention module computes are kept for completeness.

Operations the same docstring lists as acting deterministically with mode=True (Conv2d, bmm on
sparse-dense, index_add, scatter_add_, gather, index_select, repeat_interleave, index_put,
scatter, scatter_reduce sum/mean, MaxPool3d backward, ReplicationPad backward) are not errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

Call = tuple[tuple[Any, ...], dict[str, Any]]  # an aten call's args and kwargs


@dataclass(frozen=True)
class Rule:
    doc: str  # the docstring's wording
    ops: tuple[str, ...]  # aten overload packet names
    applies: Callable[[str, Call], bool] | None = None  # (overload name, call) → raises; None: always


def _arg(call: Call, position: int, name: str, default: Any = None) -> Any:
    args, kwargs = call
    return args[position] if len(args) > position else kwargs.get(name, default)


def _floating(overload: str, call: Call) -> bool:
    tensor = _arg(call, 0, "self")
    dtype = _arg(call, 2, "dtype") or tensor.dtype
    return dtype.is_floating_point or dtype.is_complex


RAISING = (
    Rule("torch.nn.AvgPool3d when attempting to differentiate a CUDA tensor", ("avg_pool3d_backward",)),
    Rule(
        "torch.nn.AdaptiveAvgPool2d when attempting to differentiate a CUDA tensor", ("_adaptive_avg_pool2d_backward",)
    ),
    Rule(
        "torch.nn.AdaptiveAvgPool3d when attempting to differentiate a CUDA tensor", ("_adaptive_avg_pool3d_backward",)
    ),
    Rule(
        "torch.nn.AdaptiveMaxPool2d when attempting to differentiate a CUDA tensor", ("adaptive_max_pool2d_backward",)
    ),
    Rule(
        "torch.nn.FractionalMaxPool2d when attempting to differentiate a CUDA tensor",
        ("fractional_max_pool2d_backward",),
    ),
    Rule(
        "torch.nn.FractionalMaxPool3d when attempting to differentiate a CUDA tensor",
        ("fractional_max_pool3d_backward",),
    ),
    Rule("torch.nn.MaxUnpool1d / MaxUnpool2d / MaxUnpool3d", ("max_unpool2d", "max_unpool3d")),
    Rule(
        "torch.nn.functional.interpolate when attempting to differentiate a CUDA tensor and one of the following "
        "modes is used: linear, bilinear, bicubic, trilinear",
        (
            "upsample_linear1d_backward",
            "upsample_bilinear2d_backward",
            "upsample_bicubic2d_backward",
            "upsample_trilinear3d_backward",
        ),
    ),
    Rule(
        "torch.nn.ReflectionPad1d / 2d / 3d when attempting to differentiate a CUDA tensor",
        ("reflection_pad1d_backward", "reflection_pad2d_backward", "reflection_pad3d_backward"),
    ),
    Rule("torch.nn.NLLLoss when called on a CUDA tensor", ("nll_loss_forward", "nll_loss2d_forward")),
    Rule("torch.nn.CTCLoss when attempting to differentiate a CUDA tensor", ("_ctc_loss_backward",)),
    Rule(
        "torch.nn.EmbeddingBag when attempting to differentiate a CUDA tensor when mode='max'",
        ("_embedding_bag_backward", "_embedding_bag_dense_backward"),
    ),
    Rule(
        "torch.Tensor.put_ when accumulate=False; when accumulate=True and called on a CUDA tensor",
        ("put_", "put"),  # on CUDA both forms raise
    ),
    Rule("torch.histc when called on a CUDA tensor", ("histc",)),
    Rule(
        "torch.bincount when called on a CUDA tensor and weights tensor is given",
        ("bincount",),
        lambda overload, call: _arg(call, 1, "weights") is not None,
    ),
    Rule(
        "torch.median with indices output when called on a CUDA tensor",
        ("median", "nanmedian"),
        lambda overload, call: overload in ("dim", "dim_values", "names_dim", "names_dim_values"),
    ),
    Rule(
        "torch.nn.functional.grid_sample when attempting to differentiate a CUDA tensor",
        ("grid_sampler_2d_backward", "grid_sampler_3d_backward", "cudnn_grid_sampler_backward"),
    ),
    Rule(
        "torch.cumsum when called on a CUDA tensor when dtype is floating point or complex",
        ("cumsum", "cumsum_", "_cumsum"),
        _floating,
    ),
    Rule(
        "torch.Tensor.scatter_reduce when reduce='prod' and called on CUDA tensor",
        ("scatter_reduce", "scatter_reduce_"),
        lambda overload, call: _arg(call, 4, "reduce") == "prod",
    ),
    Rule(
        "torch.Tensor.resize_ when called with a quantized tensor",
        ("resize_",),
        lambda overload, call: _arg(call, 0, "self").is_quantized,
    ),
)
BY_OP = {op: rule for rule in RAISING for op in rule.ops}


def raising(op: str, overload: str, call: Call) -> Rule | None:
    """The rule an aten call breaks on CUDA under deterministic mode, or None."""
    rule = BY_OP.get(op)
    return rule if rule and (rule.applies is None or rule.applies(overload, call)) else None


class Recorder(torch.utils._python_dispatch.TorchDispatchMode):
    """Every aten call inside the block (forward and, for CPU tensors, backward: the autograd
    engine runs a CPU graph on the calling thread, where the mode is active)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, Call]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # torch's protocol
        kwargs = kwargs or {}
        self.calls.append((func.overloadpacket.__name__, func._overloadname, (args, kwargs)))
        return func(*args, **kwargs)

    def breaches(self) -> dict[str, str]:
        """aten op → the docstring's wording, for every recorded call that raises on CUDA."""
        found = {}
        for op, overload, call in self.calls:
            rule = raising(op, overload, call)
            if rule:
                found[f"aten.{op}.{overload}"] = rule.doc
        return found
