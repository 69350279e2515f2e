"""Teach ultralytics' ``parse_model`` our module names, without editing the package.

``parse_model`` looks a yaml module name up in ``ultralytics.nn.tasks``' globals, so registering
a class means binding its name there. Modules it does not know get their yaml args verbatim and
keep the input width (``c2 = ch[f]``). It then sets ``i``, ``f``, ``type`` and ``np`` on every
module it builds: a class with a member of one of those names cannot be registered.
"""

from __future__ import annotations

import inspect

RESERVED = ("f", "i", "type", "np")  # set by parse_model on every layer


def register(classes: dict[str, type]) -> list[str]:
    """Bind ``classes`` by name into ``ultralytics.nn.tasks``; return their names."""
    from ultralytics.nn import tasks

    for name, cls in classes.items():
        existing = getattr(tasks, name, None)
        if existing is not None and existing is not cls and not _same_class(existing, cls):
            raise KeyError(f"ultralytics already defines '{name}'; rename our module to avoid shadowing it.")
        clash = reserved_members(cls)
        if clash:
            raise KeyError(f"'{name}' has a member named {clash[0]!r}, which ultralytics' parse_model overwrites.")
        setattr(tasks, name, cls)
    return sorted(classes)


def reserved_members(cls: type) -> list[str]:
    """Names of ``RESERVED`` that ``cls`` defines as class attributes or assigns in its source."""
    found = [n for n in RESERVED if any(n in vars(k) for k in cls.__mro__[:-1] if k.__module__.startswith("ablation"))]
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return found
    return found + [n for n in RESERVED if n not in found and f"self.{n} =" in source]


def _same_class(a: object, b: type) -> bool:
    return isinstance(a, type) and (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)
