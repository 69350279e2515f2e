"""``python -m ablation.run attention=simam,ema placement=neck``: train the grid, track it in MLflow.

Each Hydra job runs ``run(cfg)``: surgery → preflight → upstream training (in a child process)
→ MLflow child run. A job never raises for a failed config: the failure is recorded (FAILED run,
traceback artifact) and returned, so the sweep goes on; the sweeper reports and sets the exit
code. Re-running the same command skips configs already FINISHED with the same resolved config.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from .data.resolve import DataError, resolve
from .grid import CONF_DIR, ConfigError, GridEntry, describe, expand, fingerprint
from .planner import generate
from .preflight import preflight
from .surgery import BASELINE, PlacementError
from .track import FAILED, FINISHED, KILLED, Store
from .train.devices import lease, register_resolvers
from .train.hyps import resolve_hyp
from .train.isolate import job_begins, prestart, run_isolated
from .train.worker import ERROR, RESULT

IDENTITY_EXCLUDES = ("tracking", "preflight", "out")
register_resolvers()


def config_hash(entry: GridEntry) -> str:
    """Identity of a config for resume: everything that can change the result."""
    return fingerprint(entry, exclude=IDENTITY_EXCLUDES)


def baseline_hash(cfg: DictConfig) -> str:
    """The ``config_hash`` of this config's baseline: same model, data, seed and training, no attention."""
    base = cfg.copy()
    OmegaConf.update(base, "attention", OmegaConf.load(CONF_DIR / "attention" / f"{BASELINE}.yaml"), merge=False)
    return config_hash(describe(base))


def job_dir(cfg: DictConfig) -> Path:
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(str(cfg.get("out") or "runs/job")).resolve()


def run(cfg: DictConfig, workdir: Path | None = None) -> dict[str, Any]:
    """One config, end to end. Returns its status and final metrics (never raises for a bad config)."""
    job_begins()
    entry = describe(cfg)
    workdir = (workdir or job_dir(cfg)).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    store = Store(cfg.tracking.uri, str(cfg.tracking.experiment))
    digest = config_hash(entry)
    done = store.finished_with_hash(digest)
    if done is not None:
        print(f"[ablation] {entry.name}: already FINISHED as run {done.info.run_id}; skipped")
        return {"name": entry.name, "status": "SKIPPED", "run_id": done.info.run_id, "config_hash": digest, **done.data.metrics}
    run_id = store.start(entry.name, tags=_tags(entry, digest, cfg), parent=cfg.tracking.get("parent_run_id"))
    store.log_params(run_id, _params(entry, cfg))
    try:
        outcome = _train(entry, cfg, workdir, store, run_id)
    except KeyboardInterrupt:
        _fail(store, run_id, workdir, "interrupted (Ctrl-C); a re-run trains it again", _traceback(), status=KILLED)
        raise
    except BaseException as err:  # noqa: BLE001 - recorded as this config's failure
        outcome = _fail(store, run_id, workdir, f"{type(err).__name__}: {err}", _traceback())
    return {"name": entry.name, "run_id": run_id, "config_hash": digest, **outcome}


def _train(entry: GridEntry, cfg: DictConfig, workdir: Path, store: Store, run_id: str) -> dict[str, Any]:
    try:
        data = resolve(cfg.data, workdir)
    except DataError as err:
        return _fail(store, run_id, workdir, str(err))
    row = generate(entry, workdir, cache={})
    if not row.ok:
        return _fail(store, run_id, workdir, row.error)
    model_yaml = workdir / row.yaml
    store.log_artifact(run_id, model_yaml)
    check = preflight(model_yaml, imgsz=int(cfg.preflight.imgsz), gflops_imgsz=int(cfg.preflight.gflops_imgsz), nc=data.nc)
    if not check.ok:
        return _fail(store, run_id, workdir, check.error)
    store.log_metrics(run_id, {"params": check.params, "gflops": check.gflops})
    (workdir / "model_summary.txt").write_text(check.summary)
    store.log_artifact(run_id, workdir / "model_summary.txt")
    job_file = workdir / "job.json"
    with lease(str(cfg.train.device)) as device:
        if device.gpu:
            store.log_params(run_id, {"gpu": device.gpu})
        job = {
            "threads": device.threads,
            "options": upstream_options(cfg, model_yaml, data.yaml, workdir),
        }
        job_file.write_text(json.dumps(job, indent=1))
        code = run_isolated(
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
        **result["final"], "train_seconds": result["seconds"], "params": check.params, "gflops": check.gflops,
        "images_per_second": result["images_per_second"],
    }
    if result.get("gpu_mem_peak_gb") is not None:
        final["gpu_mem_peak_gb"] = result["gpu_mem_peak_gb"]
    # Upstream's final validation of best.pt, one step after the last epoch (step = epochs trained).
    store.log_metrics(run_id, final, step=len(result["epochs"]))
    save_dir = Path(result["save_dir"])
    for name in ("results.csv", "opt.yaml", "hyp.yaml"):
        if (save_dir / name).is_file():
            store.log_artifact(run_id, save_dir / name)
    if cfg.tracking.get("log_weights", True) and result.get("best") and Path(result["best"]).is_file():
        store.log_artifact(run_id, result["best"], "weights")
    store.end(run_id, FINISHED)
    return {"status": FINISHED, **final}


def upstream_options(cfg: DictConfig, model_yaml: Path, data_yaml: Path, workdir: Path) -> dict[str, Any]:
    """``conf/train`` → ``yolov5.train.run`` keyword arguments."""
    options: dict[str, Any] = OmegaConf.to_container(cfg.train, resolve=True)  # type: ignore[assignment]
    options["batch_size"] = options.pop("batch")
    options["hyp"] = str(resolve_hyp(str(options["hyp"])))
    options.update(
        cfg=str(model_yaml), data=str(data_yaml), seed=int(cfg.seed),
        project=str(workdir), name="train", exist_ok=True,
    )
    return options


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


def _tags(entry: GridEntry, digest: str, cfg: DictConfig) -> dict[str, str]:
    return {
        "config_hash": digest, "baseline_hash": baseline_hash(cfg), "attention": entry.attention,
        "placement": entry.placement, "model": entry.model, "seed": str(cfg.seed),
    }


def _params(entry: GridEntry, cfg: DictConfig) -> dict[str, Any]:
    flat = {
        "attention": entry.attention, "placement": entry.placement, "model": entry.model,
        "model.cfg": cfg.model.cfg, "data": cfg.data.get("path") or cfg.data.get("name"), "seed": cfg.seed,
    }
    for group in ("train", "attention", "placement", "data"):
        for key, value in _flatten(OmegaConf.to_container(cfg[group], resolve=True), group).items():
            flat.setdefault(key, value)
    return flat


def _flatten(data: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(_flatten(value, f"{prefix}.{key}"))
    return out


@hydra.main(config_path="../conf", config_name="run", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> dict[str, Any]:
    return run(cfg)


def main() -> None:
    """Check that the command line composes before Hydra sees it.

    Hydra silently falls back to a single run when a multirun config fails to compose and then
    blames the comma ("Ambiguous value ... add --multirun"); we say what is really wrong.
    """
    flags = [a for a in sys.argv[1:] if a.startswith("-") and a not in ("-m", "--multirun")]
    if not flags:  # a training run: its first child imports while Hydra composes (see train/isolate.py)
        prestart()
    try:
        expand("run", [a for a in sys.argv[1:] if not a.startswith("-")])
    except (ConfigError, PlacementError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    try:
        _hydra_main()
    except KeyboardInterrupt:
        sys.exit(130)  # recorded already: the config as KILLED, the sweep as KILLED


if __name__ == "__main__":
    main()
