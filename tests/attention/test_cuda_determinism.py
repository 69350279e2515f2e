"""GPU readiness without a GPU: no registered module runs an operation that raises on CUDA under
``torch.use_deterministic_algorithms(True)``.

Upstream's ``train.py`` seeds with ``init_seeds(deterministic=True)``. Our default
``train.deterministic=warn`` (``ablation.engines.yolov5.compat.deterministic_mode``) adds
``warn_only=True``, so such an operation would only warn on GPU, and silently make that config's
seeds irreproducible; ``train.deterministic=strict`` (upstream's behaviour) would raise at the
first step. Either way the module is wrong for a seed-paired ablation: none may use one.

The check records every aten call of forward and backward on CPU (a ``TorchDispatchMode``) and
looks each up in the docstring's list (``cuda_nondeterministic.RAISING``). What reaches the
dispatcher is the composite decomposition, the same on CPU and CUDA (e.g. ``AdaptiveAvgPool2d(1)``
becomes ``mean``, whose backward is deterministic; ``AdaptiveAvgPool2d((None, 1))`` stays
``_adaptive_avg_pool2d``, whose backward raises). Kernels a backend picks below the dispatcher
(cuDNN's convolution algorithms) are what ``mode=True`` makes deterministic. No module is expected
to breach: ``EXPECTED`` is empty, and an entry there needs its reason.
"""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ablation.attention import ATTENTION
from tests.attention.cuda_nondeterministic import RAISING, Recorder

SHAPES = [(2, 64, 16, 16), (2, 64, 7, 5)]  # a square map and an odd, non-square one
# (module, aten op) → why it is allowed; the training's warn mode then only warns for it
EXPECTED: dict[tuple[str, str], str] = {}
# arguments a flipped boolean needs with it: a2 without reconstruct outputs c_m channels (= the input's)
NEEDS: dict[tuple[str, str], dict[str, int]] = {("a2", "reconstruct"): {"c_m": 64}}


def variants() -> list[tuple[str, dict[str, object]]]:
    """Every registered module with its defaults, and once more for each boolean argument flipped
    (e.g. ``cbam`` with ``spatial_bn=True``, ``psa`` with ``sequential=True``)."""
    out: list[tuple[str, dict[str, object]]] = []
    for name in ATTENTION.names():
        out.append((name, {}))
        params = list(inspect.signature(ATTENTION.get(name).cls.__init__).parameters.values())[2:]
        flags = [p for p in params if isinstance(p.default, bool)]
        out += [(name, {p.name: not p.default, **NEEDS.get((name, p.name), {})}) for p in flags]
    return out


def breaches(module: nn.Module, shapes: list[tuple[int, ...]] = SHAPES) -> dict[str, str]:
    """aten op → the docstring's wording, for forward and backward in training mode (as a training
    step runs it) and a forward in eval mode (as validation runs it)."""
    recorder = Recorder()
    for shape in shapes:
        x = torch.randn(*shape, requires_grad=True)
        with recorder:
            module.train()(x).square().mean().backward()
            with torch.no_grad():
                module.eval()(x)
    return recorder.breaches()


VARIANTS = variants()


@pytest.mark.parametrize(
    ("name", "kwargs"), VARIANTS, ids=[name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in VARIANTS]
)
def test_no_module_runs_an_op_without_a_deterministic_cuda_kernel(name: str, kwargs: dict[str, object]) -> None:
    found = breaches(ATTENTION.build(name, 64, **kwargs))
    unexpected = {op: doc for op, doc in found.items() if (name, op) not in EXPECTED}
    assert not unexpected, "\n".join(
        f"{name}{f' {kwargs}' if kwargs else ''}: {op} raises on CUDA under torch.use_deterministic_algorithms(True) ({doc})"
        for op, doc in unexpected.items()
    )


def test_every_expected_breach_still_happens() -> None:
    """An allowance that no longer applies is removed, not kept as a silent hole."""
    for (name, op), reason in EXPECTED.items():
        assert reason and op in breaches(ATTENTION.build(name, 64)), (name, op)


class _Pooled(nn.Module):
    def __init__(self, pool: nn.Module) -> None:
        super().__init__()
        self.pool, self.conv = pool, nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv(self.pool(x)).sigmoid()


class _Upsampled(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        small = F.avg_pool2d(x, 2, ceil_mode=True)
        return x * F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False).sigmoid()


@pytest.mark.parametrize(
    ("module", "op"),
    [
        (_Pooled(nn.AdaptiveMaxPool2d(1)), "aten.adaptive_max_pool2d_backward.default"),
        (_Pooled(nn.AdaptiveAvgPool2d((None, 1))), "aten._adaptive_avg_pool2d_backward.default"),
        (_Upsampled(), "aten.upsample_bilinear2d_backward.default"),
    ],
    ids=["adaptive-max-pool", "coordinate-avg-pool", "bilinear-upsample"],
)
def test_a_module_using_a_raising_op_is_caught_by_name(module: nn.Module, op: str) -> None:
    shapes = [(2, 8, 9, 6)]
    found = breaches(module, shapes)
    assert op in found and "when attempting to differentiate a CUDA tensor" in found[op]


def test_global_average_pooling_is_a_mean_and_not_caught() -> None:
    """``AdaptiveAvgPool2d(1)`` dispatches to ``mean`` (deterministic backward) on CPU and CUDA alike."""
    assert breaches(_Pooled(nn.AdaptiveAvgPool2d(1)), [(2, 8, 9, 6)]) == {}


def test_the_list_is_the_docstrings() -> None:
    """Each rule's wording names an operation of the installed torch's docstring list."""
    doc = " ".join(torch.use_deterministic_algorithms.__doc__.split())
    raising = doc[doc.index("will throw a") : doc.index("In addition")]
    for rule in RAISING:
        first = rule.doc.split(" when ")[0].split(" / ")[0]
        assert first in raising.replace(":class:`", "").replace(":func:`", "").replace("`", ""), rule.doc
    for name in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "interpolate", "grid_sample", "histc", "cumsum"):
        assert name in raising
