"""``python -m ablation.run attention=simam,ema placement=neck``: train the grid, track it in MLflow.

The sweeper (``hydra_plugins/ablation_sweeper``) expands and plans the whole grid first; each
Hydra job then runs ``run(cfg)``: the planned yaml → upstream training (in a child process) →
MLflow child run. A job never raises for a failed config: the failure is recorded (FAILED run,
traceback artifact) and returned, so the sweep goes on; the sweeper reports and sets the exit
code. Re-running the same command skips configs already FINISHED with the same resolved config.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .cli import launch
from .data.resolve import DataError, resolve
from .evaluate.record import Records
from .evaluate.record import records as evaluation_records
from .fingerprint import package_versions
from .grid import GridEntry, describe, flatten
from .planner import PlanRow, load_row, plan
from .track import FAILED, FINISHED, KILLED, Store
from .train.devices import lease, register_resolvers
from .train.hyps import resolve_hyp
from .train.isolate import CHILDREN
from .train.worker import ERROR, RESULT

register_resolvers()


def job_dir(cfg: DictConfig) -> Path:
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(str(cfg.get("out") or "runs/job")).resolve()


def run(cfg: DictConfig, workdir: Path | None = None) -> dict[str, Any]:
    """One config, end to end. Returns its status and final metrics (never raises for a bad config).

    In a sweep, ``cfg.planned`` names the plan of this config (its yaml, checked by preflight before
    the sweep started); a config run on its own is planned here first, the same way.
    """
    CHILDREN.job_begins()
    entry = describe(cfg)
    workdir = (workdir or job_dir(cfg)).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    store = Store(cfg.tracking.uri, str(cfg.tracking.experiment))
    done = store.finished_with_hash(entry.config_hash)
    if done is not None:
        print(f"[ablation] {entry.name}: already FINISHED as run {done.info.run_id}; skipped")
        return {"name": entry.name, "status": "SKIPPED", "run_id": done.info.run_id, "config_hash": entry.config_hash}
    planned = load_row(cfg.planned) if cfg.get("planned") else None
    name = planned.name if planned else entry.name
    run_id = store.start(name, tags=_tags(entry), parent=cfg.tracking.get("parent_run_id"))
    store.log_params(run_id, _params(entry, cfg))
    try:
        outcome = _train(entry, cfg, planned, workdir, store, run_id)
    except KeyboardInterrupt:
        _fail(store, run_id, workdir, "interrupted (Ctrl-C); a re-run trains it again", _traceback(), status=KILLED)
        raise
    except BaseException as err:  # noqa: BLE001 - recorded as this config's failure
        outcome = _fail(store, run_id, workdir, f"{type(err).__name__}: {err}", _traceback())
    return {"name": name, "run_id": run_id, "config_hash": entry.config_hash, **outcome}


def _train(
    entry: GridEntry, cfg: DictConfig, planned: PlanRow | None, workdir: Path, store: Store, run_id: str
) -> dict[str, Any]:
    try:
        data = resolve(cfg.data, workdir)
    except DataError as err:
        return _fail(store, run_id, workdir, str(err))
    plan_dir = Path(str(cfg.planned)).parent if planned else workdir
    row = planned or plan([entry], plan_dir, cfg.preflight)[0]
    if not row.ok:
        return _fail(store, run_id, workdir, row.error)
    model_yaml = plan_dir / row.yaml
    store.log_artifact(run_id, model_yaml)
    store.log_metrics(run_id, {"params": row.params, "gflops": row.gflops})
    (workdir / "model_summary.txt").write_text(row.summary)
    store.log_artifact(run_id, workdir / "model_summary.txt")
    weights = _start_weights(cfg, row, plan_dir, workdir, store, run_id)
    job_file = workdir / "job.json"
    with lease(str(cfg.train.device)) as device:
        if device.gpu:
            store.log_params(run_id, {"gpu": device.gpu})
        job = {
            "threads": device.threads,
            "options": upstream_options(cfg, model_yaml, data.yaml, workdir, weights),
            "evaluate": OmegaConf.to_container(cfg.evaluate, resolve=True) if "evaluate" in cfg else None,
        }
        job_file.write_text(json.dumps(job, indent=1))
        code = CHILDREN.run(
            job_file, workdir / "train.log", device.env, echo=os.environ.get("ABLATION_QUIET") != "1",
            on_event=lambda event: _log_event(store, run_id, event),
        )
    store.log_artifact(run_id, workdir / "train.log")
    if code != 0 or not (workdir / RESULT).is_file():
        error_file = workdir / ERROR
        detail = error_file.read_text() if error_file.is_file() else ""
        return _fail(store, run_id, workdir, _exit_sentence(code, detail), detail)
    result = json.loads((workdir / RESULT).read_text())
    final = {
        **result["final"], "train_seconds": result["seconds"], "params": row.params, "gflops": row.gflops,
        "images_per_second": result["images_per_second"],
    }
    if result.get("gpu_mem_peak_gb") is not None:
        final["gpu_mem_peak_gb"] = result["gpu_mem_peak_gb"]
    evaluation = evaluation_records(result)  # COCO metrics and latency of best.pt (ablation.evaluate)
    final.update(evaluation.metrics)
    # Upstream's final validation of best.pt, one step after the last epoch (step = epochs trained).
    store.log_metrics(run_id, final, step=len(result["epochs"]))
    _log_evaluation(store, run_id, evaluation)
    save_dir = Path(result["save_dir"])
    for name in ("results.csv", "opt.yaml", "hyp.yaml"):
        if (save_dir / name).is_file():
            store.log_artifact(run_id, save_dir / name)
    if cfg.tracking.get("log_weights", True) and result.get("best") and Path(result["best"]).is_file():
        store.log_artifact(run_id, result["best"], "weights")
    store.end(run_id, FINISHED)
    return {"status": FINISHED, **final}


def _start_weights(cfg: DictConfig, row: PlanRow, plan_dir: Path, workdir: Path, store: Store, run_id: str) -> Path | None:
    """With ``train.weights``: the planned checkpoint (base weights through the surgery's index map)
    copied into the job folder, where the training child trusts the checkpoints it loads; logged."""
    if not row.weights:
        return None
    start = workdir / "weights_start.pt"
    shutil.copyfile(plan_dir / row.weights, start)
    report = workdir / "weights_not_transferred.txt"
    shutil.copyfile(plan_dir / f"{row.name}.weights.txt", report)
    store.log_params(run_id, {"weights": cfg.train.weights, "weights_transferred": row.weights_transferred})
    store.log_artifact(run_id, report)
    return start


def upstream_options(
    cfg: DictConfig, model_yaml: Path, data_yaml: Path, workdir: Path, weights: Path | None = None
) -> dict[str, Any]:
    """``conf/train`` → ``yolov5.train.run`` keyword arguments; ``weights``: the transferred
    checkpoint to start from (never the user's file: upstream would match its tensors by name)."""
    options: dict[str, Any] = OmegaConf.to_container(cfg.train, resolve=True)  # type: ignore[assignment]
    options["batch_size"] = options.pop("batch")
    options["hyp"] = str(resolve_hyp(str(options["hyp"])))
    options.update(
        cfg=str(model_yaml), data=str(data_yaml), seed=int(cfg.seed),
        project=str(workdir), name="train", exist_ok=True, weights=str(weights or ""),
    )
    return options


def _log_evaluation(store: Store, run_id: str, evaluation: Records) -> None:
    """Latency params, ``*_error`` tags (a failed evaluation does not fail the run), eval/ files."""
    store.log_params(run_id, evaluation.params)
    if evaluation.tags:
        store.set_tags(run_id, evaluation.tags)
        print(f"[ablation] evaluation failed: {evaluation.tags}", file=sys.stderr)
    for path in evaluation.artifacts:
        store.log_artifact(run_id, path, evaluation.folder)


def _log_event(store: Store, run_id: str, event: dict[str, Any]) -> None:
    """A training child's progress (``worker.EVENTS``), logged while it trains."""
    if event["kind"] == "metrics":
        store.log_metrics(run_id, event["values"], step=int(event["step"]))
    elif event["kind"] == "params":
        store.log_params(run_id, event["values"])


def _exit_sentence(code: int, detail: str) -> str:
    if detail.strip():
        return detail.strip().splitlines()[-1]
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"training process was killed by {name}{hint}"
    return f"training process exited with code {code} without a result"


def _fail(store: Store, run_id: str, workdir: Path, sentence: str, detail: str = "", status: str = FAILED) -> dict[str, Any]:
    error_file = workdir / "error.txt"
    error_file.write_text((detail or sentence).rstrip() + "\n")
    store.log_artifact(run_id, error_file)
    store.set_tags(run_id, {"error": sentence})
    store.end(run_id, status)
    print(f"[ablation] {status} {sentence}", file=sys.stderr)
    return {"status": status, "error": sentence}


def _traceback() -> str:
    import traceback

    return traceback.format_exc()


def _tags(entry: GridEntry) -> dict[str, str]:
    return {
        "config_hash": entry.config_hash, "group_hash": entry.group_hash, "baseline_hash": entry.baseline_hash,
        "attention": entry.attention, "placement": entry.placement, "model": entry.model, "seed": str(entry.seed),
        **{f"{kind}_fingerprint": digest for kind, digest in entry.fingerprints},  # what else the hashes cover
    }


def _params(entry: GridEntry, cfg: DictConfig) -> dict[str, Any]:
    flat = {
        "attention": entry.attention, "placement": entry.placement, "model": entry.model,
        "model.cfg": cfg.model.cfg, "data": cfg.data.get("path") or cfg.data.get("name"), "seed": cfg.seed,
    }
    flat.update({f"version.{name}": v for name, v in package_versions().items()})  # behind packages_fingerprint
    for group in ("train", "attention", "placement", "data"):
        for key, value in flatten(OmegaConf.to_container(cfg[group], resolve=True), f"{group}.").items():
            flat.setdefault(key, value)
    return flat


def main() -> None:
    launch("run", run)


if __name__ == "__main__":
    main()
