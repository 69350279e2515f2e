"""Attention modules, one file each, registered by config name in ``ATTENTION``."""

from __future__ import annotations

from . import se  # noqa: F401  (import registers)
from .registry import ATTENTION, Entry, Registry, fit_groups

__all__ = ["ATTENTION", "Entry", "Registry", "fit_groups"]
