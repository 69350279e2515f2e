"""Preflight: every planned model builds with upstream and trains one step before any sweep."""

from ablation.plan.preflight.check import PreflightResult, build_model, preflight
from ablation.plan.preflight.flops import gflops

__all__ = ["PreflightResult", "build_model", "gflops", "preflight"]
