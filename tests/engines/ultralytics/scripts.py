"""Scripts the ultralytics tests run in fresh processes (``python -m`` with a mode): the engine's
own training (``ours``), plain ``YOLO("yolo11n.yaml").train`` (``plain``), a training from a
plan's start checkpoint (``pretrained``), and the offline probe (``probe``). Each prints one JSON line prefixed ``RESULT``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import tests.engines.ultralytics.offline_guard  # noqa: F401  (before any import of ours: no network from here on)

ROOT = Path(__file__).resolve().parents[3]


def ours(data: str, out: str, epochs: int, imgsz: int, batch: int, model: str = "yolo11n") -> dict[str, Any]:
    """The engine's train() with the options the job builds from the train group's defaults."""
    from omegaconf import OmegaConf

    from ablation.engines import engine
    from ablation.job.child import upstream_options

    train = OmegaConf.load(ROOT / "ablation/conf/train/default.yaml")
    train.merge_with({"epochs": epochs, "imgsz": imgsz, "batch": batch, "workers": 0, "device": "cpu"})
    cfg = OmegaConf.create({"model": {"cfg": model, "engine": "ultralytics"}, "train": train, "seed": 0})
    eng = engine("ultralytics")
    eng.setup()
    options = upstream_options(cfg, eng.model_yaml(model), Path(data), Path(out))
    reported: list[list[Any]] = []
    notes: dict[str, str] = {}
    from ablation.evaluate import evaluate_trained
    from ablation.evaluate.final import Detections

    final = Detections()  # as the training child collects the final validation's detections
    result = eng.train(
        options, on_epoch=lambda e, v: reported.append([e, v]), on_note=notes.update, observers=final.callbacks()
    )
    evaluate = {"coco": True, "latency": {"enabled": True, "imgsz": imgsz, "warmup": 1, "repeats": 2}}
    job = {"engine": "ultralytics", "options": options, "evaluate": evaluate}
    evaluation = evaluate_trained(job, result.best, Path(out), final)  # COCO on the final validation, latency
    second = {**job, "evaluate": {"coco": True, "latency": {"enabled": False}}}
    second_pass = evaluate_trained(second, result.best, Path(out) / "second", None)  # the package's validator again
    return {
        "evaluation": evaluation,
        "second_pass": second_pass,
        "save_dir": str(result.save_dir),
        "epochs": result.epochs,
        "reported": reported,
        "final": result.final,
        "best": str(result.best),
        "notes": notes,
        "config_dir": os.environ.get("YOLO_CONFIG_DIR"),
    }


class Stopped(Exception):
    """A training stopped after an epoch was reported (as a killed job would be)."""


def resumed(data: str, out: str, epochs: int, imgsz: int, batch: int) -> dict[str, Any]:
    """Stopped once the first epoch was reported, then resumed from its resume.pt."""
    from omegaconf import OmegaConf

    from ablation.engines import engine
    from ablation.job.child import upstream_options

    train = OmegaConf.load(ROOT / "ablation/conf/train/default.yaml")
    train.merge_with({"epochs": epochs, "imgsz": imgsz, "batch": batch, "workers": 0, "device": "cpu"})
    cfg = OmegaConf.create({"model": {"cfg": "yolo11n", "engine": "ultralytics"}, "train": train, "seed": 0})
    eng = engine("ultralytics")
    options = upstream_options(cfg, eng.model_yaml("yolo11n"), Path(data), Path(out))
    reported: list[int] = []

    def stop(epoch: int, values: dict[str, float]) -> None:
        reported.append(epoch)
        raise Stopped

    try:
        eng.train(options, on_epoch=stop)
    except Stopped:
        pass
    checkpoint = Path(out) / "train" / "weights" / eng.resume_checkpoint
    result = eng.train({**options, "resume": str(checkpoint)}, on_epoch=lambda e, v: reported.append(e))
    return {"save_dir": str(result.save_dir), "epochs": result.epochs, "reported": reported}


def pretrained(data: str, out: str, model_yaml: str, weights: str) -> dict[str, Any]:
    """One epoch of the engine's train() of a planned yaml from a plan's start checkpoint; the
    model's tensors as the trainer holds them before its first step, saved to ``out``."""
    import torch
    from omegaconf import OmegaConf

    from ablation.engines import engine
    from ablation.job.child import upstream_options

    train = OmegaConf.load(ROOT / "ablation/conf/train/default.yaml")
    train.merge_with({"epochs": 1, "imgsz": 64, "batch": 8, "workers": 0, "device": "cpu", "noval": True})
    cfg = OmegaConf.create({"model": {"cfg": "yolo11n", "engine": "ultralytics"}, "train": train, "seed": 0})
    eng = engine("ultralytics")
    options = upstream_options(cfg, Path(model_yaml), Path(data), Path(out), Path(weights))
    start = Path(out) / "start_state.pt"

    def keep(trainer: Any) -> None:
        torch.save({k: v.detach().cpu().clone() for k, v in trainer.model.state_dict().items()}, start)

    result = eng.train(options, observers={"on_pretrain_routine_end": keep})
    return {"start": str(start), "epochs": len(result.epochs)}


def plain(data: str, out: str, epochs: int, imgsz: int, batch: int) -> dict[str, Any]:
    """What a user runs: the package's own API, the same data, seed and settings (the train
    group's SGD; the package's defaults otherwise), offline: fonts placed in its config folder."""
    import shutil

    import matplotlib

    config = Path(out) / "config"
    (config / "Ultralytics").mkdir(parents=True, exist_ok=True)
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        shutil.copyfile(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf", config / "Ultralytics" / name)
    os.environ.update(YOLO_CONFIG_DIR=str(config), YOLO_OFFLINE="1")
    from ultralytics import YOLO, settings

    settings.update({"mlflow": False, "sync": False})
    YOLO("yolo11n.yaml").train(
        data=data, epochs=epochs, imgsz=imgsz, batch=batch, workers=0, device="cpu", seed=0,
        optimizer="SGD", project=out, name="train", exist_ok=True,
    )  # fmt: skip
    return {"save_dir": str(Path(out) / "train")}


def probe() -> dict[str, Any]:
    """The engine's setup in a fresh process: where its settings live, what they say."""
    omp = os.environ.get("OMP_NUM_THREADS")
    from ablation.engines import engine

    eng = engine("ultralytics")
    eng.setup()
    from ultralytics.utils import SETTINGS, USER_CONFIG_DIR

    settings = json.loads((Path(USER_CONFIG_DIR) / "settings.json").read_text())
    return {
        "config_dir": str(USER_CONFIG_DIR),
        "files": sorted(os.listdir(USER_CONFIG_DIR)),
        "settings": settings,
        "memory": dict(SETTINGS),
        "omp_before": omp,
        "omp_now": os.environ.get("OMP_NUM_THREADS"),
        "omp_launch": eng.launch_environ().get("OMP_NUM_THREADS"),
        "config_launch": eng.launch_environ().get("YOLO_CONFIG_DIR"),
    }


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "probe":
        out = probe()
    elif mode == "pretrained":
        out = pretrained(*args)
    else:
        data, folder, *numbers = args
        out = {"ours": ours, "plain": plain, "resumed": resumed}[mode](data, folder, *map(int, numbers))
    print("RESULT " + json.dumps(out, default=str))
