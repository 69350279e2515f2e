"""A name → class registry for attention modules, in the spirit of mmengine's ``Registry``.

Every registered class is constructed as ``cls(channels, **kwargs)`` and must return a tensor of
the input's shape: upstream's ``parse_model`` passes an unknown module's yaml arguments verbatim
and keeps the input width, so the surgery writes the real (already width-scaled) channel count
as the first argument. (C3-like blocks are the one exception, ``C3Attn``, handled by the surgery.)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class Entry:
    """One registered module."""

    name: str
    cls: type[nn.Module]
    paper: str

    def positional_args(self, channels: int, kwargs: dict[str, Any]) -> list[Any]:
        """``[channels, *every other argument]`` in the constructor's order, defaults filled in.

        Upstream's ``parse_model`` calls ``m(*args)``, so keyword arguments must be emitted
        positionally; unknown keywords are rejected here, before any model is built.
        """
        params = list(inspect.signature(self.cls.__init__).parameters.values())[2:]  # self, channels
        names = [p.name for p in params]
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise TypeError(
                f"attention '{self.name}' has no argument {', '.join(map(repr, unknown))}; "
                f"it accepts: {', '.join(names) or 'no arguments'}."
            )
        required = [p.name for p in params if p.default is inspect.Parameter.empty and p.name not in kwargs]
        if required:
            raise TypeError(f"attention '{self.name}' needs a value for {', '.join(required)}.")
        return [channels] + [kwargs.get(p.name, p.default) for p in params]


class Registry:
    """Maps config names (``"se"``) to module classes, refusing duplicates."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, *, paper: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
        """Class decorator: ``@ATTENTION.register("se", paper="...")``."""

        def add(cls: type[nn.Module]) -> type[nn.Module]:
            for other in self._entries.values():
                if other.name == name or other.cls.__name__ == cls.__name__:
                    raise KeyError(
                        f"{self.kind} '{name}' ({cls.__name__}) is already registered as "
                        f"'{other.name}' ({other.cls.__module__}.{other.cls.__name__})."
                    )
            self._entries[name] = Entry(name=name, cls=cls, paper=paper)
            return cls

        return add

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            for entry in self._entries.values():  # accept the class name too ("SE" for "se")
                if entry.cls.__name__ == name:
                    return entry
            raise KeyError(
                f"unknown {self.kind} '{name}'; choose one of: {', '.join(sorted(self._entries))}."
            ) from None

    def build(self, name: str, channels: int, **kwargs: Any) -> nn.Module:
        entry = self.get(name)
        return entry.cls(*entry.positional_args(channels, kwargs))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


ATTENTION = Registry("attention")


def fit_groups(channels: int, requested: int, multiple: int = 1) -> int:
    """The largest group count ``g <= requested`` with ``channels % (g * multiple) == 0``.

    Papers fix group counts for ResNet widths (256-2048); YOLOv5n has 16-channel layers. Rather
    than crash (or silently build a wrong module, as blog copies do) we pick the nearest valid
    count and the module records it.
    """
    if channels % multiple:
        raise ValueError(
            f"{channels} channels cannot be split into groups of a multiple of {multiple}; "
            f"place this attention after a layer whose width is a multiple of {multiple}."
        )
    for g in range(min(requested, channels // multiple), 0, -1):
        if channels % (g * multiple) == 0:
            return g
    return 1
