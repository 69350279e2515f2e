"""The training child's job: ``conf/train`` as upstream's keyword arguments, written with the
engine, threads and evaluation settings to ``job.json`` (what ``ablation.train.worker`` reads),
and a sentence for a child that ended without a result."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablation.engines import engine_of

JOB_FILE = "job.json"  # in the job folder
TRAIN_NAME = "train"  # upstream's run folder in the job folder (its ``name``)


def resume_checkpoint(save_dir: Path, cfg: DictConfig) -> Path:
    """The checkpoint a stopped training resumes from, in upstream's run folder ``save_dir``."""
    return save_dir / "weights" / engine_of(cfg).resume_checkpoint


def upstream_options(
    cfg: DictConfig, model_yaml: Path, data_yaml: Path, workdir: Path, weights: Path | None = None
) -> dict[str, Any]:
    """``conf/train`` → ``yolov5.train.run`` keyword arguments; ``weights``: the transferred
    checkpoint to start from (never the user's file: upstream would match its tensors by name)."""
    options: dict[str, Any] = OmegaConf.to_container(cfg.train, resolve=True)  # type: ignore[assignment]
    options["batch_size"] = options.pop("batch")
    options["hyp"] = str(engine_of(cfg).resolve_hyp(str(options["hyp"])))
    options.update(
        cfg=str(model_yaml),
        data=str(data_yaml),
        seed=int(cfg.seed),
        project=str(workdir),
        name=TRAIN_NAME,
        exist_ok=True,
        weights=str(weights or ""),
    )
    return options


def write_job(workdir: Path, cfg: DictConfig, options: dict[str, Any], threads: int | None) -> Path:
    """``<workdir>/job.json`` for the training child; returns its path."""
    job = {
        "engine": engine_of(cfg).name,
        "threads": threads,
        "options": options,
        "evaluate": OmegaConf.to_container(cfg.evaluate, resolve=True) if "evaluate" in cfg else None,
    }
    job_file = workdir / JOB_FILE
    job_file.write_text(json.dumps(job, indent=1))
    return job_file


def exit_sentence(code: int, detail: str) -> str:
    """Why a child with exit ``code`` left no result: its error's last line, else the signal or code."""
    if detail.strip():
        return detail.strip().splitlines()[-1]
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"training process was killed by {name}{hint}"
    return f"training process exited with code {code} without a result"
