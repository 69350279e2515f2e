"""``python -m ablation.run attention=simam,ema placement=neck``: train the grid, track it in MLflow.

The sweeper (``hydra_plugins/ablation_sweeper``) expands and plans the whole grid first; each
Hydra job then runs ``run(cfg)``: the planned yaml → upstream training (in a child process) →
MLflow child run. A job never raises for a failed config: the failure is recorded (FAILED run,
traceback artifact) and returned, so the sweep goes on; the sweeper reports and sets the exit
code. Re-running the same command skips configs already FINISHED with the same resolved config,
leaves alone those another live process trains, and resumes those stopped from outside.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablation.config.command import launch
from ablation.config.fingerprint import Fingerprints, package_versions
from ablation.config.grid import GridEntry, describe, flatten
from ablation.data.resolve import DataError, resolve
from ablation.engines import Engine, engine_of
from ablation.evaluate.record import Records
from ablation.evaluate.record import records as evaluation_records
from ablation.job.claim import (
    BUSY,
    CHECKPOINT,
    DONE,
    INTERRUPTED,
    JOB_DIR,
    NEW,
    OWNER,
    RESUMED,
    RESUMED_AT,
    Decision,
    Heartbeat,
    Owner,
    Timing,
    claim,
)
from ablation.plan.planner import PlanRow, load_row, plan
from ablation.track import FAILED, FINISHED, KILLED, RUNNING, Store
from ablation.track.store import retry_locked
from ablation.train.devices import lease, register_resolvers
from ablation.train.isolate import CHILDREN, SlurmTermination
from ablation.train.worker import ERROR, EVENTS, RESULT

register_resolvers()


def job_dir(cfg: DictConfig) -> Path:
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path(str(cfg.get("out") or "runs/job")).resolve()


def run(cfg: DictConfig, workdir: Path | None = None) -> dict[str, Any]:
    """One config, end to end. Returns its status and final metrics (never raises for a bad config).

    In a sweep, ``cfg.planned`` names the plan of this config (its yaml, checked by preflight before
    the sweep started); a config run on its own is planned here first, the same way. The run is
    claimed first (``ablation.job.claim``): FINISHED is skipped, one trained by another live process is
    left to it (status RUNNING), one stopped from outside resumes from its checkpoint.
    """
    CHILDREN.job_begins()
    planned = load_row(cfg.planned) if cfg.get("planned") else None
    # The dataset's fingerprint as planned: the sweep's identity of this config, without hashing the set again.
    prints = Fingerprints.known(cfg.data, planned.data_fingerprint) if planned and planned.data_fingerprint else None
    entry = describe(cfg, fingerprints=prints)
    workdir = (workdir or job_dir(cfg)).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    store = Store(cfg.tracking.uri, str(cfg.tracking.experiment))
    name = planned.name if planned else entry.name
    timing = Timing.of(cfg.tracking)

    def create(owner_tags: dict[str, str]) -> str:
        tags = {
            **_tags(entry),
            **owner_tags,
            CHECKPOINT: str(workdir / "train" / "weights" / engine_of(cfg).resume_checkpoint),
        }
        return store.start(name, tags=tags, parent=cfg.tracking.get("parent_run_id"))

    decision = claim(store, entry.config_hash, create, timing)
    if decision.kind == DONE:
        print(f"[ablation] {entry.name}: already FINISHED as run {decision.run_id}; skipped")
        return {"name": entry.name, "status": "SKIPPED", "run_id": decision.run_id, "config_hash": entry.config_hash}
    if decision.kind == BUSY:
        owner = Owner.parse(decision.run.data.tags.get(OWNER))
        who = owner or "another process"
        print(f"[ablation] {name}: run {decision.run_id} is being trained by {who}; not started twice")
        return {"name": name, "status": RUNNING, "run_id": decision.run_id, "config_hash": entry.config_hash}
    attempt = Attempt.begin(store, decision, workdir, cfg, entry)
    with (
        Heartbeat(store, attempt.run_id, decision.token, timing.heartbeat_s, on_lost=CHILDREN.stop) as beat,
        SlurmTermination() as slurm,
    ):
        attempt.heartbeat = beat
        try:
            outcome = _train(entry, cfg, planned, workdir, attempt)
        except KeyboardInterrupt:
            attempt.fail("interrupted (Ctrl-C); the same command resumes it", _traceback(), KILLED, "Ctrl-C")
            raise
        except SystemExit:  # submitit, preempted or timed out: it requeues this job, which resumes
            attempt.fail("stopped (preempted or timed out); a requeued job resumes it", _traceback(), KILLED, "stopped")
            raise
        except BaseException as err:
            outcome = attempt.fail(f"{type(err).__name__}: {err}", _traceback())
        if slurm.received and outcome.get("status") != FINISHED:
            outcome = attempt.fail(
                "stopped by Slurm (SIGTERM: requeued, preempted, cancelled or out of time); "
                "a requeued task or the same command resumes it",
                status=KILLED,
                interrupted="SIGTERM",
            )
            if slurm.requeued():  # no result: submitit would hand it to the submitter as the config's
                raise SystemExit(128 + signal.SIGTERM)
            outcome = {**outcome, "status": FAILED}  # cancelled: the sweep reports it (and a re-run resumes it)
    return {"name": name, "run_id": attempt.run_id, "config_hash": entry.config_hash, **outcome}


@dataclass
class Attempt:
    """One attempt at training a claimed run: the run's ids and what it has logged, so that a
    resumed run gets every epoch once (``logged``: the last epoch in its history)."""

    store: Store
    run_id: str
    workdir: Path
    checkpoint: Path | None  # the resume checkpoint to continue from; None: a new run
    logged: int = -1
    params: dict[str, str] = field(default_factory=dict)  # already on the run (params cannot change)
    resumes: int = 0
    heartbeat: Heartbeat | None = None

    @property
    def taken_over(self) -> bool:
        """Another process claimed the run (this one was taken for dead): it must not write."""
        return self.heartbeat is not None and self.heartbeat.lost

    @classmethod
    def begin(cls, store: Store, decision: Decision, workdir: Path, cfg: DictConfig, entry: GridEntry) -> Attempt:
        run = decision.run
        tags = run.data.tags
        if decision.kind == NEW:
            attempt = cls(store, decision.run_id, workdir, None)
            attempt.log_params(_params(entry, cfg))
        else:
            attempt = cls(store, decision.run_id, workdir, Path(tags[CHECKPOINT]), params=dict(run.data.params))
            attempt.logged = attempt._last_logged_epoch(engine_of(cfg))
            attempt._replay(Path(tags.get(JOB_DIR, "")) / EVENTS)
            attempt.resumes = int(tags.get(RESUMED, 0)) + 1
            at = ",".join(filter(None, [tags.get(RESUMED_AT, ""), str(attempt.logged + 1)]))
            store.set_tags(decision.run_id, {RESUMED: str(attempt.resumes), RESUMED_AT: at})
            for stale in ("error", INTERRUPTED):  # why the last attempt stopped; this one starts clean
                if stale in tags:
                    retry_locked(store.client.delete_tag)(decision.run_id, stale)
            print(
                f"[ablation] {run.info.run_name}: resuming run {decision.run_id} at epoch {attempt.logged + 1} "
                f"from {attempt.checkpoint} (resume {attempt.resumes})"
            )
        store.set_tags(decision.run_id, {JOB_DIR: str(workdir)})
        return attempt

    @property
    def resumed(self) -> bool:
        return self.checkpoint is not None

    def _last_logged_epoch(self, eng: Engine) -> int:
        history = self.store.client.get_metric_history(self.run_id, eng.epoch_keys[0])
        return max((m.step for m in history), default=-1)

    def _replay(self, events: Path) -> None:
        """Epochs the lost attempt checkpointed and reported, but that did not reach MLflow."""
        if events.is_file():
            for line in events.read_text().splitlines():
                if line.strip() and (event := json.loads(line))["kind"] == "metrics":
                    self.log_epoch(int(event["step"]), event["values"])

    def log_epoch(self, epoch: int, values: dict[str, float]) -> None:
        if epoch > self.logged:
            self.store.log_metrics(self.run_id, values, step=epoch)
            self.logged = epoch

    def log_params(self, params: dict[str, Any]) -> None:
        """New params; one that differs from this run's earlier attempt (another GPU, thread
        count) is kept as the tag ``resume<N>.<key>`` (MLflow params cannot change)."""
        new = {k: v for k, v in params.items() if k not in self.params}
        changed = {
            f"resume{self.resumes}.{k}": v
            for k, v in params.items()
            if k in self.params and str(v)[:6000] != self.params[k]
        }
        if new:
            self.store.log_params(self.run_id, new)
            self.params.update({k: str(v)[:6000] for k, v in new.items()})
        if changed:
            self.store.set_tags(self.run_id, changed)

    def log_event(self, event: dict[str, Any]) -> None:
        """A training child's progress (``worker.EVENTS``), logged while it trains."""
        if event["kind"] == "metrics":
            self.log_epoch(int(event["step"]), event["values"])
        elif event["kind"] == "params":
            self.log_params(event["values"])

    def fail(self, sentence: str, detail: str = "", status: str = FAILED, interrupted: str = "") -> dict[str, Any]:
        """End the run ``status``; ``interrupted`` (stopped from outside) makes it resumable."""
        if self.taken_over:
            return self.lost()
        if interrupted:
            self.store.set_tags(self.run_id, {INTERRUPTED: interrupted})
        return _fail(self.store, self.run_id, self.workdir, sentence, detail, status)

    def lost(self) -> dict[str, Any]:
        """The run was taken over: leave it to its new owner (the sweep waits for it)."""
        print(f"[ablation] run {self.run_id} was taken over by another process; this job stopped", file=sys.stderr)
        return {"status": RUNNING}


def _train(
    entry: GridEntry, cfg: DictConfig, planned: PlanRow | None, workdir: Path, attempt: Attempt
) -> dict[str, Any]:
    store, run_id = attempt.store, attempt.run_id
    try:
        data = resolve(cfg.data, workdir)
    except DataError as err:
        return attempt.fail(str(err))
    plan_dir = Path(str(cfg.planned)).parent if planned else workdir
    row = planned or plan([entry], plan_dir, cfg.preflight)[0]
    if not row.ok:
        return attempt.fail(row.error)
    model_yaml = plan_dir / row.yaml
    weights = None
    if not attempt.resumed:
        store.log_artifact(run_id, model_yaml)
        store.log_metrics(run_id, {"params": row.params, "gflops": row.gflops})
        (workdir / "model_summary.txt").write_text(row.summary)
        store.log_artifact(run_id, workdir / "model_summary.txt")
        weights = _start_weights(cfg, row, plan_dir, workdir, attempt)
    job_file = workdir / "job.json"
    with lease(str(cfg.train.device)) as device:
        if device.gpu:
            attempt.log_params({"gpu": device.gpu})
        options = upstream_options(cfg, model_yaml, data.yaml, workdir, weights)
        if attempt.checkpoint is not None:
            options["resume"] = str(attempt.checkpoint)
        job = {
            "engine": engine_of(cfg).name,
            "threads": device.threads,
            "options": options,
            "evaluate": OmegaConf.to_container(cfg.evaluate, resolve=True) if "evaluate" in cfg else None,
        }
        job_file.write_text(json.dumps(job, indent=1))
        code = CHILDREN.run(
            job_file,
            workdir / "train.log",
            device.env,
            echo=os.environ.get("ABLATION_QUIET") != "1",
            on_event=attempt.log_event,
        )
    if attempt.taken_over:
        return attempt.lost()
    store.log_artifact(run_id, workdir / "train.log")
    if code != 0 or not (workdir / RESULT).is_file():
        error_file = workdir / ERROR
        detail = error_file.read_text() if error_file.is_file() else ""
        stopped = signal.Signals(-code).name if code < 0 and not detail.strip() else ""
        return attempt.fail(_exit_sentence(code, detail), detail, interrupted=stopped)
    result = json.loads((workdir / RESULT).read_text())
    for epoch in result["epochs"]:  # the last one is reported here, with the result
        attempt.log_epoch(int(epoch["epoch"]), {k: v for k, v in epoch.items() if k != "epoch"})
    final = {
        **result["final"],
        "train_seconds": result["seconds"],
        "params": row.params,
        "gflops": row.gflops,
        "images_per_second": result["images_per_second"],
    }
    if result.get("gpu_mem_peak_gb") is not None:
        final["gpu_mem_peak_gb"] = result["gpu_mem_peak_gb"]
    evaluation = evaluation_records(result)  # COCO metrics and latency of best.pt (ablation.evaluate)
    final.update(evaluation.metrics)
    # Upstream's final validation of best.pt, one step after the last epoch (step = epochs trained).
    store.log_metrics(run_id, final, step=attempt.logged + 1)
    _log_evaluation(attempt, evaluation)
    save_dir = Path(result["save_dir"])
    for name in ("results.csv", "opt.yaml", "hyp.yaml"):
        if (save_dir / name).is_file():
            store.log_artifact(run_id, save_dir / name)
    if cfg.tracking.get("log_weights", True) and result.get("best") and Path(result["best"]).is_file():
        store.log_artifact(run_id, result["best"], "weights")
    store.end(run_id, FINISHED)
    (save_dir / "weights" / engine_of(cfg).resume_checkpoint).unlink(missing_ok=True)  # done: nothing to resume
    return {"status": FINISHED, **final}


def _start_weights(cfg: DictConfig, row: PlanRow, plan_dir: Path, workdir: Path, attempt: Attempt) -> Path | None:
    """With ``train.weights``: the planned checkpoint (base weights through the surgery's index map)
    copied into the job folder, where the training child trusts the checkpoints it loads; logged."""
    if not row.weights:
        return None
    start = workdir / "weights_start.pt"
    shutil.copyfile(plan_dir / row.weights, start)
    report = workdir / "weights_not_transferred.txt"
    shutil.copyfile(plan_dir / f"{row.name}.weights.txt", report)
    attempt.log_params({"weights": cfg.train.weights, "weights_transferred": row.weights_transferred})
    attempt.store.log_artifact(attempt.run_id, report)
    return start


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
        name="train",
        exist_ok=True,
        weights=str(weights or ""),
    )
    return options


def _log_evaluation(attempt: Attempt, evaluation: Records) -> None:
    """Latency params, ``*_error`` tags (a failed evaluation does not fail the run), eval/ files."""
    attempt.log_params(evaluation.params)
    if evaluation.tags:
        attempt.store.set_tags(attempt.run_id, evaluation.tags)
        print(f"[ablation] evaluation failed: {evaluation.tags}", file=sys.stderr)
    for path in evaluation.artifacts:
        attempt.store.log_artifact(attempt.run_id, path, evaluation.folder)


def _exit_sentence(code: int, detail: str) -> str:
    if detail.strip():
        return detail.strip().splitlines()[-1]
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"training process was killed by {name}{hint}"
    return f"training process exited with code {code} without a result"


def _fail(
    store: Store, run_id: str, workdir: Path, sentence: str, detail: str = "", status: str = FAILED
) -> dict[str, Any]:
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
        "config_hash": entry.config_hash,
        "group_hash": entry.group_hash,
        "baseline_hash": entry.baseline_hash,
        "attention": entry.attention,
        "placement": entry.placement,
        "model": entry.model,
        "seed": str(entry.seed),
        **{f"{kind}_fingerprint": digest for kind, digest in entry.fingerprints},  # what else the hashes cover
    }


def _params(entry: GridEntry, cfg: DictConfig) -> dict[str, Any]:
    flat = {
        "attention": entry.attention,
        "placement": entry.placement,
        "model": entry.model,
        "model.cfg": cfg.model.cfg,
        "data": cfg.data.get("path") or cfg.data.get("name"),
        "seed": cfg.seed,
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
