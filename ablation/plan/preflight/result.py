"""A preflight's outcome: plain data, importable without torch (the sweep reads it, a child makes it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PreflightResult:
    yaml: str
    params: int = 0
    gflops: float = 0.0
    error: str = ""
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not self.error
