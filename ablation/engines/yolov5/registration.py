"""Teach upstream's ``parse_model`` our module names.

``parse_model`` resolves a yaml module name with ``eval`` in ``yolov5.models.yolo``'s namespace,
so registering a class means binding its name there. Attention modules need nothing else:
upstream passes their yaml args verbatim and keeps the input width.
C3-like blocks must also be members of upstream's C3 family (``m in {..., C3, ...}``) so that
their width is scaled and ``n`` inserted; ``C3FamilyMeta`` makes such a class compare equal to
upstream's ``C3`` for exactly that membership test.
"""

from __future__ import annotations

import sys
from types import ModuleType

from torch import nn

UPSTREAM_MODULES = ("yolov5.models.yolo", "models.yolo")  # pip package, plain checkout


class C3FamilyMeta(type(nn.Module)):  # type: ignore[misc]
    """Metaclass whose classes hash and compare equal to upstream's ``C3``."""

    def __hash__(cls) -> int:
        return hash(_upstream_c3())

    def __eq__(cls, other: object) -> bool:
        return other is cls or other is _upstream_c3()


def _upstream_c3() -> type:
    from yolov5.models.common import C3

    return C3


def register(classes: dict[str, type]) -> list[str]:
    """Bind ``classes`` by name into every loaded upstream ``yolo`` module; return their names."""
    import yolov5.models.yolo  # noqa: F401  (make sure the pip package is there)

    targets: list[ModuleType] = [sys.modules[n] for n in UPSTREAM_MODULES if n in sys.modules]
    for module in targets:
        for name, cls in classes.items():
            existing = getattr(module, name, None)
            if existing is not None and existing is not cls and not _same_class(existing, cls):
                raise KeyError(f"upstream already defines '{name}'; rename our module to avoid shadowing it.")
            setattr(module, name, cls)
    return sorted(classes)


def _same_class(a: object, b: type) -> bool:
    return isinstance(a, type) and (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)
