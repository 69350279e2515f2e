"""Attention modules, one file each, registered by config name in ``ATTENTION``.

Every module file of this package (all but the registry and ``c3_attn``) is imported here, and
importing it registers its class: adding a module is adding one file.
"""

from __future__ import annotations

import importlib
import pkgutil

from .registry import ATTENTION, Entry, Registry, fit_groups

_NOT_MODULES = {"registry", "c3_attn"}

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name not in _NOT_MODULES and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["ATTENTION", "Entry", "Registry", "fit_groups"]
