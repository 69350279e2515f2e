"""Preflight: every planned model builds with upstream and trains one step before any sweep."""

from .check import PreflightResult, build_model, preflight
from .flops import gflops

__all__ = ["PreflightResult", "build_model", "gflops", "preflight"]
