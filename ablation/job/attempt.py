"""The MLflow run of one claimed config through one attempt at training it: its tags and params
when it starts, the epochs and notes the training child reports (and those a lost attempt
reported but did not log, replayed from its ``events.jsonl``), and how it ends when it fails.

A resumed run gets every epoch once: ``Attempt.logged`` is the last epoch in its history.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablation.config.fingerprint import package_versions
from ablation.config.grid import GridEntry, flatten
from ablation.engines import Engine, engine_of
from ablation.evaluate.record import Records
from ablation.job.claim import NEW, Decision, Heartbeat
from ablation.track import Store
from ablation.track.schema import (
    ATTENTION,
    BASELINE_HASH,
    CHECKPOINT,
    CONFIG_GROUPS,
    CONFIG_HASH,
    CONTROL,
    DATA,
    ERROR,
    ERROR_FILE,
    FAILED,
    GROUP_HASH,
    INTERRUPTED,
    JOB_DIR,
    MODEL,
    MODEL_CFG,
    PLACEMENT,
    RESUMED,
    RESUMED_AT,
    RUNNING,
    SEED,
    VERSION_PREFIX,
    fingerprint_tag,
    resumed_param_tag,
)
from ablation.track.store import PARAM_LENGTH
from ablation.train.worker import EVENTS


@dataclass
class Attempt:
    """One attempt at training a claimed run: the run's ids and what it has logged."""

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
            attempt.log_params(run_params(entry, cfg))
        else:
            attempt = cls(store, decision.run_id, workdir, Path(tags[CHECKPOINT]), params=dict(run.data.params))
            attempt.logged = attempt._last_logged_epoch(engine_of(cfg))
            attempt._replay(Path(tags.get(JOB_DIR, "")) / EVENTS)
            attempt.resumes = int(tags.get(RESUMED, 0)) + 1
            at = ",".join(filter(None, [tags.get(RESUMED_AT, ""), str(attempt.logged + 1)]))
            store.set_tags(decision.run_id, {RESUMED: str(attempt.resumes), RESUMED_AT: at})
            for stale in (ERROR, INTERRUPTED):  # why the last attempt stopped; this one starts clean
                if stale in tags:
                    store.delete_tag(decision.run_id, stale)
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
        history = self.store.metric_history(self.run_id, eng.epoch_keys[0])
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
            resumed_param_tag(self.resumes, k): v
            for k, v in params.items()
            if k in self.params and str(v)[:PARAM_LENGTH] != self.params[k]
        }
        if new:
            self.store.log_params(self.run_id, new)
            self.params.update({k: str(v)[:PARAM_LENGTH] for k, v in new.items()})
        if changed:
            self.store.set_tags(self.run_id, changed)

    def log_event(self, event: dict[str, Any]) -> None:
        """A training child's progress (``worker.EVENTS``), logged while it trains."""
        if event["kind"] == "metrics":
            self.log_epoch(int(event["step"]), event["values"])
        elif event["kind"] == "params":
            self.log_params(event["values"])

    def log_artifact(self, path: str | Path, folder: str | None = None) -> None:
        self.store.log_artifact(self.run_id, path, folder)

    def log_evaluation(self, evaluation: Records) -> None:
        """Latency params, ``*_error`` tags (a failed evaluation does not fail the run), eval/ files."""
        self.log_params(evaluation.params)
        if evaluation.tags:
            self.store.set_tags(self.run_id, evaluation.tags)
            print(f"[ablation] evaluation failed: {evaluation.tags}", file=sys.stderr)
        for path in evaluation.artifacts:
            self.log_artifact(path, evaluation.folder)

    def fail(self, sentence: str, detail: str = "", status: str = FAILED, interrupted: str = "") -> dict[str, Any]:
        """End the run ``status`` with the ``error`` tag and ``error.txt``; ``interrupted``
        (stopped from outside) makes it resumable."""
        if self.taken_over:
            return self.lost()
        if interrupted:
            self.store.set_tags(self.run_id, {INTERRUPTED: interrupted})
        error_file = self.workdir / ERROR_FILE
        error_file.write_text((detail or sentence).rstrip() + "\n")
        self.log_artifact(error_file)
        self.store.set_tags(self.run_id, {ERROR: sentence})
        self.store.end(self.run_id, status)
        print(f"[ablation] {status} {sentence}", file=sys.stderr)
        return {"status": status, "error": sentence}

    def lost(self) -> dict[str, Any]:
        """The run was taken over: leave it to its new owner (the sweep waits for it)."""
        print(f"[ablation] run {self.run_id} was taken over by another process; this job stopped", file=sys.stderr)
        return {"status": RUNNING}


def run_tags(entry: GridEntry) -> dict[str, str]:
    """A config run's identity tags (the fingerprints: what else the hashes cover)."""
    return {
        CONFIG_HASH: entry.config_hash,
        GROUP_HASH: entry.group_hash,
        BASELINE_HASH: entry.baseline_hash,
        ATTENTION: entry.attention,
        PLACEMENT: entry.placement,
        MODEL: entry.model,
        SEED: str(entry.seed),
        **{fingerprint_tag(kind): digest for kind, digest in entry.fingerprints},
        **({CONTROL: entry.control} if entry.control else {}),
    }


def run_params(entry: GridEntry, cfg: DictConfig) -> dict[str, Any]:
    """A new config run's params: its choices, package versions and the flattened config groups."""
    flat = {
        ATTENTION: entry.attention,
        PLACEMENT: entry.placement,
        MODEL: entry.model,
        MODEL_CFG: cfg.model.cfg,
        DATA: cfg.data.get("path") or cfg.data.get("name"),
        SEED: cfg.seed,
    }
    flat.update(
        {f"{VERSION_PREFIX}{name}": v for name, v in package_versions(engine_of(cfg).name).items()}
    )  # behind packages_fingerprint
    for group in CONFIG_GROUPS:
        for key, value in flatten(OmegaConf.to_container(cfg[group], resolve=True), f"{group}.").items():
            flat.setdefault(key, value)
    return flat
