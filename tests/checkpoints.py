"""Base-model checkpoints written the way upstream's train.py (and ultralytics' trainer) writes
them, for weight-transfer tests."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.preflight import build_model


def random_base(model: str, nc: int, seed: int = 0) -> nn.Module:
    """The base model with every tensor drawn at random (so that no two layers share values), yet
    trainable: small weights, positive running variances; floats exact in FP16, as upstream saves."""
    torch.manual_seed(seed)
    return randomized(build_model(model_yaml(model), nc), seed)


def randomized(built: nn.Module, seed: int = 0) -> nn.Module:
    """``built`` with every tensor drawn at random as ``random_base`` draws them (anchors kept)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, tensor in built.state_dict().items():
            if key.endswith("anchors"):
                continue
            if not tensor.is_floating_point():
                tensor.copy_(torch.randint(1, 10_000, tensor.shape, generator=generator))
            elif key.endswith("running_var"):
                tensor.copy_((torch.rand(tensor.shape, generator=generator) + 0.5).half().float())
            else:
                tensor.copy_((torch.randn(tensor.shape, generator=generator) * 0.05).half().float())
    return built


def save_like_upstream(model: nn.Module, path: Path, during_training: bool = False) -> Path:
    """``during_training``: a last.pt as train.py saves it each epoch (``model`` the trained model,
    ``ema`` its moving average, here other values; with optimizer and epoch); otherwise as
    ``strip_optimizer`` leaves it after training (the EMA moved into ``model``)."""
    half = copy.deepcopy(model).half()
    if during_training:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        ema = copy.deepcopy(half)
        with torch.no_grad():
            for tensor in ema.state_dict().values():
                if tensor.is_floating_point():
                    tensor.mul_(0.5)
        checkpoint = {
            "epoch": 3,
            "best_fitness": 0.5,
            "model": half,
            "ema": ema,
            "updates": 12,
            "optimizer": optimizer.state_dict(),
        }
    else:
        checkpoint = {"epoch": -1, "best_fitness": None, "model": half, "ema": None, "updates": None, "optimizer": None}
    torch.save(checkpoint, path)
    return path


def save_like_ultralytics(model: nn.Module, path: Path, during_training: bool = False) -> Path:
    """As ultralytics' trainer writes a checkpoint (``save_model``): ``model`` None and the FP16
    EMA in ``ema`` (here the model itself), with optimizer, epoch and ``train_args``; otherwise
    as its ``strip_optimizer`` leaves best.pt after training (the EMA moved into ``model``)."""
    half = copy.deepcopy(model).half()
    common = {"best_fitness": None, "train_args": {"task": "detect", "imgsz": 64}, "version": "8.4.190"}
    if during_training:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        checkpoint = {
            **common,
            "epoch": 2,
            "model": None,
            "ema": half,
            "updates": 6,
            "optimizer": optimizer.state_dict(),
        }
    else:
        checkpoint = {**common, "epoch": -1, "model": half, "ema": None, "updates": None, "optimizer": None}
    torch.save(checkpoint, path)
    return path


def plan_with(weights: Path, out: Path, *args: str, config: str = "plan", model: str = "yolov5n") -> list:
    """The plan rows of ``model`` started from ``weights`` (preflight off, the synthetic set in ``out``)."""
    from ablation.config.grid import expand
    from ablation.plan.planner import plan

    entries = expand(
        config,
        [
            f"model={model}",
            f"train.weights={weights}",
            "preflight.enabled=false",
            "preflight.workers=1",
            "data.train=16",
            "data.val=8",
            f"data.root={out / 'datasets'}",
            *args,
        ],
    )
    return plan(entries, out, entries[0].cfg.preflight)
