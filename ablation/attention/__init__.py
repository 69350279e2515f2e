"""Attention modules, one file each, registered by config name in ``ATTENTION``.

Every module file of this package (all but the registry and ``c3_attn``) is imported here, and
importing it registers its class: adding a module is adding one file. Modules of your own are
imported after ours: the Python modules named in ``ABLATION_PLUGINS`` (comma-separated).
"""

from __future__ import annotations

import importlib
import os
import pkgutil

from ablation.attention.registry import ATTENTION, Entry, Registry, fit_groups

_NOT_MODULES = {"registry", "c3_attn"}

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name not in _NOT_MODULES and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

PLUGINS = [importlib.import_module(n.strip()) for n in os.environ.get("ABLATION_PLUGINS", "").split(",") if n.strip()]

__all__ = ["ATTENTION", "PLUGINS", "Entry", "Registry", "fit_groups"]
