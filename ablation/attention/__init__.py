"""Attention modules, one file each, registered by config name in ``ATTENTION``.

Every module file of this package (all but the registry and ``c3_attn``) is imported here, and
importing it registers its class: adding a module is adding one file. Modules of your own are
imported after ours: the Python modules named in ``ABLATION_PLUGINS`` (comma-separated); one
that cannot be imported raises ``PluginError`` (one sentence; the commands exit 2 with it).
"""

from __future__ import annotations

import importlib
import os
import pkgutil

from ablation.attention.registry import ATTENTION, Entry, Registry, fit_groups
from ablation.config.errors import PluginError

_NOT_MODULES = {"registry", "c3_attn"}

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name not in _NOT_MODULES and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")


def _plugin(name: str) -> object:
    try:
        return importlib.import_module(name)
    except Exception as err:  # any failure of a user's module is reported the same way
        raise PluginError(
            f"ABLATION_PLUGINS names '{name}', which cannot be imported ({type(err).__name__}: {err}); "
            "install it or put its folder on PYTHONPATH."
        ) from err


PLUGINS = [_plugin(n.strip()) for n in os.environ.get("ABLATION_PLUGINS", "").split(",") if n.strip()]

__all__ = ["ATTENTION", "PLUGINS", "Entry", "PluginError", "Registry", "fit_groups"]
