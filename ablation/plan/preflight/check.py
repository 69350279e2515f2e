"""Preflight: build a generated yaml with the engine and take one training step.

Catches, before any training starts, what otherwise crashes hours into a sweep: wrong channel
arguments, shape mismatches, modules that fail at batch 1 or under deterministic algorithms.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import torch
from torch.utils import _pytree as pytree

from ablation.engines import engine
from ablation.plan.preflight.flops import FlopCache, gflops
from ablation.plan.preflight.result import PreflightResult


def build_model(yaml_path: str | Path, nc: int | None = None, engine_name: str | None = None) -> torch.nn.Module:
    """The model the engine builds from ``yaml_path`` (our modules registered), with ``nc`` classes."""
    return engine(engine_name).build_model(yaml_path, nc)


def preflight(
    yaml_path: str | Path,
    imgsz: int = 64,
    gflops_imgsz: int = 640,
    nc: int | None = None,
    step: bool = True,
    flops: FlopCache | None = None,
    engine_name: str | None = None,
) -> PreflightResult:
    """Build the model (with ``nc`` classes), take one training step (unless ``step`` is false:
    ``preflight.enabled=false``), count parameters and GFLOPs (``flops``: the layer counts of the
    models checked before, see ``FlopCache``), built by the engine ``engine_name`` (the yaml's)."""
    stage = "building the model"
    try:
        model = build_model(yaml_path, nc, engine_name)
        if step:
            stage = "a training step at batch 1"
            train_step(model, imgsz)
        stage = "counting GFLOPs"
        params = sum(p.numel() for p in model.parameters())
        total = round(gflops(model, gflops_imgsz, cache=flops, in_place=True), 3)
        return PreflightResult(str(yaml_path), params, total, summary=summary(model, yaml_path, total, gflops_imgsz))
    except Exception as err:
        return PreflightResult(str(yaml_path), error=describe_failure(err, stage))


def train_step(model: torch.nn.Module, imgsz: int) -> None:
    """One forward and backward pass at batch 1 under deterministic algorithms; gradients finite."""
    model.train()
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)  # upstream train.py trains this way
    try:
        out = model(torch.rand(1, 3, imgsz, imgsz))  # yolov5: a list per level; ultralytics: a dict of them
        leaves = [o for o in pytree.tree_leaves(out) if isinstance(o, torch.Tensor) and o.is_floating_point()]
        sum(o.float().square().mean() for o in leaves).backward()
    finally:
        torch.use_deterministic_algorithms(previous)
    bad = [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    if bad:
        raise FloatingPointError(f"non-finite gradient in {bad[0]}")


def summary(model: torch.nn.Module, yaml_path: str | Path, flops: float, imgsz: int) -> str:
    """Upstream's layer table (index, from, n, params, module, yaml args) for the built model, and totals."""
    import yaml

    spec = yaml.safe_load(Path(yaml_path).read_text())
    rows = spec["backbone"] + spec["head"]
    lines = [f"{'':>3}{'from':>18}{'n':>3}{'params':>10}  {'module':<40}{'arguments':<30}"]
    for m, (_, n, _, args) in zip(model.model, rows):
        lines.append(f"{m.i:>3}{str(m.f):>18}{n:>3}{m.np:10.0f}  {m.type:<40}{str(args):<30}")
    params = sum(p.numel() for p in model.parameters())
    lines.append(
        f"{Path(yaml_path).name}: {len(model.model)} layers, {params} parameters, {flops} GFLOPs at "
        f"{imgsz} px (torch FlopCounterMode: convolutions and matrix products, 2 per multiply-add)"
    )
    return "\n".join(lines) + "\n"


def describe_failure(err: BaseException, stage: str) -> str:
    """One sentence: what failed, where, and the innermost frame of ours or upstream's."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "site-packages/torch" not in f.filename]
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"failed while {stage}: {type(err).__name__}: {message}{where}"
