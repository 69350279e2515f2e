"""``python -m ablation.run attention=simam,ema placement=neck``: train the grid, track it in MLflow.

The sweeper (``hydra_plugins/ablation_sweeper``) expands and plans the whole grid first; each
Hydra job then runs ``run(cfg)``: the claim on the config's MLflow run (``ablation.job.claim``),
the planned yaml → upstream training in a child process (its job: ``ablation.job.child``) → the
run's params, metrics and artifacts (``ablation.job.attempt``). A job never raises for a failed config: the failure is recorded (FAILED run,
traceback artifact) and returned, so the sweep goes on; the sweeper reports and sets the exit
code. Re-running the same command skips configs already FINISHED with the same resolved config,
leaves alone those another live process trains, and resumes those stopped from outside.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ablation.config.command import launch
from ablation.config.fingerprint import Fingerprints
from ablation.config.grid import GridEntry, describe
from ablation.data.resolve import DataError, resolve
from ablation.evaluate.record import records as evaluation_records
from ablation.job.attempt import Attempt, run_tags
from ablation.job.child import TRAIN_NAME, exit_sentence, resume_checkpoint, upstream_options, write_job
from ablation.job.claim import BUSY, DONE, Heartbeat, Owner, Timing, claim
from ablation.plan.planner import PlanRow, load_row, plan
from ablation.track import Store
from ablation.track.schema import (
    CHECKPOINT,
    FAILED,
    FINISHED,
    GFLOPS,
    GPU,
    GPU_MEM_PEAK_GB,
    IMAGES_PER_SECOND,
    KILLED,
    MODEL_SUMMARY,
    ONNX_CHECK,
    ONNX_MAX_REL_DIFF,
    OWNER,
    PARAMS,
    RUNNING,
    SKIPPED,
    TRAIN_LOG,
    TRAIN_SECONDS,
    UPSTREAM_FILES,
    WEIGHTS,
    WEIGHTS_DIR,
    WEIGHTS_TRANSFERRED,
)
from ablation.train.devices import lease, register_resolvers
from ablation.train.isolate import CHILDREN, SlurmTermination
from ablation.train.worker import ERROR, RESULT

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
            **run_tags(entry),
            **owner_tags,
            CHECKPOINT: str(resume_checkpoint(workdir / TRAIN_NAME, cfg)),
        }
        return store.start(name, tags=tags, parent=cfg.tracking.get("parent_run_id"))

    decision = claim(store, entry.config_hash, create, timing)
    if decision.kind == DONE:
        print(f"[ablation] {entry.name}: already FINISHED as run {decision.run_id}; skipped")
        return {"name": entry.name, "status": SKIPPED, "run_id": decision.run_id, "config_hash": entry.config_hash}
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
        attempt.log_artifact(model_yaml)
        store.log_metrics(run_id, {PARAMS: row.params, GFLOPS: row.gflops})
        if row.onnx:  # the planning-time ONNX check (conf/onnx)
            attempt.log_params({ONNX_CHECK: row.onnx})
            if row.onnx_max_rel_diff is not None:
                store.log_metrics(run_id, {ONNX_MAX_REL_DIFF: row.onnx_max_rel_diff})
        (workdir / MODEL_SUMMARY).write_text(row.summary)
        attempt.log_artifact(workdir / MODEL_SUMMARY)
        weights = _start_weights(cfg, row, plan_dir, workdir, attempt)
    with lease(str(cfg.train.device)) as device:
        if device.gpu:
            attempt.log_params({GPU: device.gpu})
        options = upstream_options(cfg, model_yaml, data.yaml, workdir, weights)
        if attempt.checkpoint is not None:
            options["resume"] = str(attempt.checkpoint)
        code = CHILDREN.run(
            write_job(workdir, cfg, options, device.threads),
            workdir / TRAIN_LOG,
            device.env,
            echo=os.environ.get("ABLATION_QUIET") != "1",
            on_event=attempt.log_event,
        )
    if attempt.taken_over:
        return attempt.lost()
    attempt.log_artifact(workdir / TRAIN_LOG)
    if code != 0 or not (workdir / RESULT).is_file():
        error_file = workdir / ERROR
        detail = error_file.read_text() if error_file.is_file() else ""
        stopped = signal.Signals(-code).name if code < 0 and not detail.strip() else ""
        return attempt.fail(exit_sentence(code, detail), detail, interrupted=stopped)
    result = json.loads((workdir / RESULT).read_text())
    for epoch in result["epochs"]:  # the last one is reported here, with the result
        attempt.log_epoch(int(epoch["epoch"]), {k: v for k, v in epoch.items() if k != "epoch"})
    final = {
        **result["final"],
        TRAIN_SECONDS: result["seconds"],
        PARAMS: row.params,
        GFLOPS: row.gflops,
        IMAGES_PER_SECOND: result["images_per_second"],
    }
    if result.get("gpu_mem_peak_gb") is not None:
        final[GPU_MEM_PEAK_GB] = result["gpu_mem_peak_gb"]
    evaluation = evaluation_records(result)  # COCO metrics and latency of best.pt (ablation.evaluate)
    final.update(evaluation.metrics)
    # Upstream's final validation of best.pt, one step after the last epoch (step = epochs trained).
    store.log_metrics(run_id, final, step=attempt.logged + 1)
    attempt.log_evaluation(evaluation)
    save_dir = Path(result["save_dir"])
    for name in UPSTREAM_FILES:
        if (save_dir / name).is_file():
            attempt.log_artifact(save_dir / name)
    if cfg.tracking.get("log_weights", True) and result.get("best") and Path(result["best"]).is_file():
        attempt.log_artifact(result["best"], WEIGHTS_DIR)
    store.end(run_id, FINISHED)
    resume_checkpoint(save_dir, cfg).unlink(missing_ok=True)  # done: nothing to resume
    return {"status": FINISHED, **final}


def _start_weights(cfg: DictConfig, row: PlanRow, plan_dir: Path, workdir: Path, attempt: Attempt) -> Path | None:
    """With ``train.weights``: the planned checkpoint (base weights through the surgery's index map)
    copied into the job folder, where the training child trusts the checkpoints it loads; logged."""
    if not row.weights:
        if row.weights_transferred:  # planned with train.weights, none of them fit (a wider baseline)
            attempt.log_params({WEIGHTS: cfg.train.weights, WEIGHTS_TRANSFERRED: row.weights_transferred})
        return None
    start = workdir / "weights_start.pt"
    shutil.copyfile(plan_dir / row.weights, start)
    report = workdir / "weights_not_transferred.txt"
    shutil.copyfile(plan_dir / f"{row.name}.weights.txt", report)
    attempt.log_params({WEIGHTS: cfg.train.weights, WEIGHTS_TRANSFERRED: row.weights_transferred})
    attempt.log_artifact(report)
    return start


def _traceback() -> str:
    import traceback

    return traceback.format_exc()


def main() -> None:
    launch("run", run)


if __name__ == "__main__":
    main()
