"""Preflight: every planned model builds with its engine and trains one step before any sweep.

The names below import torch, so they load on first use: the sweep's own process plans without
torch and leaves the checks to its waiting training child (``pool``)."""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "PreflightResult": "ablation.plan.preflight.result",
    "build_model": "ablation.plan.preflight.check",
    "preflight": "ablation.plan.preflight.check",
    "gflops": "ablation.plan.preflight.flops",
}


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_NAMES[name]), name)


__all__ = ["PreflightResult", "build_model", "gflops", "preflight"]
