"""Around a sweep of jobs: every config planned before the first trains, one parent MLflow run,
a summary after.

Used by ``ablation.sweep.loop`` (the sweep from start to end); the jobs themselves
go out through whichever Hydra launcher is configured and run ``ablation.job.task.run`` on the yaml
planned here (``planned=<plan>/<name>.json``). A sweep's state is one ``Sweep`` object in the
submitting process; a job gets what it needs in its overrides (``planned``,
``tracking.parent_run_id``), never from this process's memory, since a launcher may run it in
another process or on another host.

A sweep outlives its submitter: the runs in MLflow are the record. Run again, the same command
skips FINISHED configs, waits for configs another live process trains (``ablation.job.claim``),
resumes those that were stopped, and ends with the summary of the whole grid.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ablation.config.grid import GridEntry
from ablation.job.claim import BUSY, DONE, RESUME, Owner, Timing, alive, decide
from ablation.plan.planner import COLUMNS, NOT_TRANSFERRED, PlanRow, plan
from ablation.track import FAILED, FINISHED, KILLED, RUNNING, SKIPPED, Store
from ablation.track.schema import (
    COMMAND,
    CONFIG_HASH,
    ERROR,
    JOBS,
    OWNER,
    SWEEP,
    SWEEP_CONFIGS,
    SWEEP_FAILED,
    SWEEP_TRUE,
)


class SweepError(RuntimeError):
    """The sweep cannot start; nothing has trained."""


@dataclass
class Sweep:
    """One sweep: its store and parent run, its folder, and every config's outcome so far."""

    store: Store
    run_id: str
    sweep_dir: Path
    skipped: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # by config_hash
    elsewhere: dict[str, GridEntry] = field(default_factory=dict)  # trained by another live process
    verdict: dict[str, Any] = field(default_factory=dict)  # the run's ``verdict.correction`` / ``verdict.alpha``

    def job(self, entry: GridEntry) -> list[str]:
        """A job's overrides: its config, its plan, the sweep run (all it needs from the sweep)."""
        plan_file = self.sweep_dir / "plan" / f"{entry.name}.json"
        return [*entry.overrides, f"planned='{plan_file}'", f"tracking.parent_run_id={self.run_id}"]

    def collect(self, entries: list[GridEntry], results: Iterable[dict[str, Any]]) -> None:
        """The results of launched jobs, in launch order; one whose run another live process
        trains (claimed meanwhile) is waited for."""
        for entry, result in zip(entries, results):
            if result.get("status") == RUNNING:
                self.elsewhere[entry.config_hash] = entry
            else:
                self.results[entry.config_hash] = {"config_hash": entry.config_hash, **result}

    def wait(self, timing: Timing, poll_s: float = 10.0) -> list[GridEntry]:
        """Until no config is trained by another live process: their outcomes are this sweep's.
        Returns those whose process was lost, to resume here."""
        if not self.elsewhere:
            return []
        print(
            f"[ablation] waiting for {len(self.elsewhere)} configs trained by other processes: "
            + ", ".join(sorted(e.name for e in self.elsewhere.values()))
        )
        me, here = Owner.me(), []
        while self.elsewhere:
            runs = config_runs_by_hash(self.store)
            for config_hash, entry in list(self.elsewhere.items()):
                found = runs.get(config_hash, [])
                decision = decide(found, me, timing.stale_after_s)
                if decision.kind == BUSY:
                    continue
                del self.elsewhere[config_hash]
                latest = max(found, key=lambda r: r.info.start_time, default=None)
                if decision.kind == DONE:
                    self.results[config_hash] = run_result(decision.run, entry)
                elif decision.kind == RESUME or latest is None or latest.info.status == RUNNING:
                    here.append(entry)
                else:  # it ended by itself (an error): its outcome stands
                    self.results[config_hash] = run_result(latest, entry)
            if self.elsewhere:
                time.sleep(min(poll_s, timing.heartbeat_s))
        return here


def config_runs_by_hash(store: Store) -> dict[str, list[Any]]:
    """Every config run of the experiment (not deleted), grouped by ``config_hash``."""
    grouped: dict[str, list[Any]] = {}
    for run in store.runs():
        if run.data.tags.get(CONFIG_HASH):
            grouped.setdefault(run.data.tags[CONFIG_HASH], []).append(run)
    return grouped


def run_result(run: Any, entry: GridEntry) -> dict[str, Any]:
    """A run another process trained, as a job's result."""
    return {
        "name": run.info.run_name or entry.name,
        "status": run.info.status,
        "run_id": run.info.run_id,
        "config_hash": entry.config_hash,
        "error": run.data.tags.get(ERROR, ""),
    }


@dataclass
class Triage:
    """The grid against the store: FINISHED, trained by another live process, to train here."""

    done: list[GridEntry]
    elsewhere: list[GridEntry]
    todo: list[GridEntry]


def triage(store: Store | None, entries: list[GridEntry], stale_after_s: float) -> Triage:
    """Sort the grid by what the store holds (``None``: a store that does not exist yet)."""
    if store is None:
        return Triage([], [], list(entries))
    runs = config_runs_by_hash(store)
    me = Owner.me()
    kinds = {e.config_hash: decide(runs.get(e.config_hash, []), me, stale_after_s).kind for e in entries}
    return Triage(
        [e for e in entries if kinds[e.config_hash] == DONE],
        [e for e in entries if kinds[e.config_hash] == BUSY],
        [e for e in entries if kinds[e.config_hash] not in (DONE, BUSY)],
    )


def check_tracking(config: DictConfig) -> None:
    """Refuse, before anything is planned or submitted, a store the launcher's jobs cannot share
    (SQLite or files from many nodes) or a tracking server that does not answer (within seconds)."""
    from ablation.track.remote import TrackingError, check_store
    from ablation.track.store import resolve_uri

    launcher = config.get("hydra", {}).get("launcher", {}).get("_target_")
    choice = config.get("hydra", {}).get("runtime", {}).get("choices", {}).get("hydra/launcher", "")
    try:
        check_store(resolve_uri(config.tracking.uri), str(config.tracking.experiment), launcher, choice)
    except TrackingError as err:
        raise SweepError(str(err)) from None


def open_store(config: DictConfig) -> Store | None:
    """The tracking store, checked once before anything is planned or submitted
    (``check_tracking``); ``None`` for a SQLite store that does not exist yet: ``start_sweep``
    creates it after planning, so that bad input leaves no file."""
    from ablation.track.store import not_created, resolve_uri

    check_tracking(config)
    uri = resolve_uri(config.tracking.uri)
    if not_created(uri):
        return None
    return _opened(Store(uri, str(config.tracking.experiment)))


def _opened(store: Store) -> Store:
    """``store`` with its experiment (created now: parallel jobs racing on a new store fail)."""
    try:
        store.experiment_id  # noqa: B018 - creates it
    except Exception as err:
        raise SweepError(
            f"cannot open MLflow tracking store {store.uri}: {str(err).splitlines()[0]}; check tracking.uri."
        ) from None
    return store


def plan_sweep(entries: list[GridEntry], plan_dir: Path, preflight: DictConfig) -> dict[str, PlanRow]:
    """Plan every entry; one that cannot train stops the sweep before anything trains. The checks
    that build models run in the first config's training child, which imports torch and the
    engine while the grid is composed (``train.isolate.Children.call``)."""
    from ablation.train.isolate import CHILDREN

    rows = plan(entries, plan_dir, preflight, checks=CHILDREN.call)
    onnx_warnings([r for r in rows if r.ok])
    for row in rows:  # a wider baseline (control=width) cannot take the base checkpoint: said, not silent
        if row.ok and row.weights_transferred == NOT_TRANSFERRED:
            print(f"[ablation] {row.name}: train.weights {NOT_TRANSFERRED}; it trains from its own initialisation")
    bad = [r for r in rows if not r.ok]
    if bad:
        lines = "\n".join(f"FAILED {r.name}: {r.error}" for r in bad)
        raise SweepError(f"{len(bad)} of {len(rows)} configs cannot train; nothing was trained.\n{lines}")
    return {r.name: r for r in rows}


def start_sweep(config: DictConfig, store: Store | None, arguments: list[str], sweep_dir: Path, grid: Triage) -> Sweep:
    """The sweep's parent run in ``store`` (``open_store``'s; created now when it is ``None``)."""
    store = store or _opened(Store(config.tracking.uri, str(config.tracking.experiment)))
    name = f"sweep {time.strftime('%Y-%m-%d %H:%M:%S')}"
    jobs = len(grid.todo)
    me = Owner.me()
    for lost in store.runs(f"tags.{SWEEP} = '{SWEEP_TRUE}' and attributes.status = '{RUNNING}'"):
        if not alive(lost, me, stale_after_s=float("inf")):  # its submitter was killed, on this machine
            store.end(lost.info.run_id, KILLED)
    tags = {SWEEP: SWEEP_TRUE, COMMAND: " ".join(arguments), JOBS: str(jobs), OWNER: me.tag()}
    run_id = store.start(name, tags=tags)
    busy = f", {len(grid.elsewhere)} being trained by other processes (waited for)" if grid.elsewhere else ""
    print(
        f"[ablation] {jobs} configs to train, {len(grid.done)} already FINISHED{busy}; MLflow {store.uri}, "
        f"experiment '{store.experiment}', sweep run {run_id}"
    )
    done = [{"name": e.name, "status": SKIPPED, "config_hash": e.config_hash} for e in grid.done]
    verdict = {k: v for k, v in (config.get("verdict") or {}).items() if k in ("correction", "alpha")}
    return Sweep(
        store, run_id, sweep_dir.resolve(), done, elsewhere={e.config_hash: e for e in grid.elsewhere}, verdict=verdict
    )


def finish_sweep(sweep: Sweep, results: Iterable[dict[str, Any]], interrupted: bool = False) -> list[dict[str, Any]]:
    """Print the table of this sweep's configs (mean and interval over seeds, paired difference
    to the baseline, verdict), write ``results.csv`` and ``report.html`` to the sweep folder, one
    line per failure; return the failures. ``interrupted``: the jobs stopped early (Ctrl-C); the
    sweep run ends KILLED."""
    results = [*sweep.skipped, *results]
    failed = [r for r in results if r.get("status") == FAILED]
    hashes = {r["config_hash"] for r in results if r.get("config_hash")}
    reported = bool(hashes) and report_sweep(sweep, hashes)
    ran = sum(r.get("status") == FINISHED for r in results)
    skipped = sum(r.get("status") == SKIPPED for r in results)
    print(
        f"\n[ablation] {ran} finished, {skipped} already done (skipped), {len(failed)} failed; "
        f"outputs in {sweep.sweep_dir}"
    )
    for r in failed:
        print(f"FAILED {r.get('name', '?')}: {r.get('error', 'unknown error')}", file=sys.stderr)
    sweep.store.log_metrics(sweep.run_id, {SWEEP_CONFIGS: len(results), SWEEP_FAILED: len(failed)})
    if interrupted:
        print("[ablation] interrupted: the same command trains what is not FINISHED yet", file=sys.stderr)
    sweep.store.end(sweep.run_id, KILLED if interrupted else FAILED if failed else FINISHED)
    if reported:
        print("\n".join(sweep.store.dashboard()))
    return failed


def report_sweep(sweep: Sweep, hashes: set[str]) -> bool:
    """The aggregated table of these configs on the terminal, ``results.csv`` and ``report.html``
    in the sweep folder (and as artifacts of the sweep run). A report that cannot be written is
    one warning line, not a failed sweep. False when there was nothing to report."""
    from ablation.report.export import write_csv
    from ablation.report.page import write_report
    from ablation.report.summary import summarise
    from ablation.report.table import format_table, power_line

    try:
        summary = summarise(sweep.store.uri, sweep.store.experiment, hashes=hashes, **sweep.verdict)
        if summary.configs.empty:
            return False
        print("\n" + format_table(summary.configs, summary.metric) + "\n" + power_line(summary))
        sweep.store.log_artifact(sweep.run_id, write_csv(summary, sweep.sweep_dir / "results.csv"))
        for path in write_report(summary, sweep.sweep_dir):
            sweep.store.log_artifact(sweep.run_id, path, "report")
    except Exception as err:
        print(
            f"[ablation] warning: report not written ({type(err).__name__}: {err}); run python -m ablation.report",
            file=sys.stderr,
        )
    return True


def job_result(job: Any) -> dict[str, Any]:
    """A Hydra ``JobReturn`` as our result dict; a job that raised becomes a FAILED result."""
    try:
        value = job.return_value  # re-raises what the job raised
    except Exception as err:
        return {"name": " ".join(job.overrides or []), "status": FAILED, "error": f"{type(err).__name__}: {err}"}
    if isinstance(value, dict):
        return value
    return {"name": " ".join(job.overrides or []), "status": FAILED, "error": f"the job returned {value!r}"}


def print_plan(rows: list[PlanRow], out: Path) -> int:
    """``python -m ablation.plan``'s output: ``out/plan.csv``, the table, one line per failure;
    the exit code (1 if any config cannot be planned)."""
    import pandas as pd

    frame = pd.DataFrame([r.record() for r in rows], columns=COLUMNS)
    frame.to_csv(out / "plan.csv", index=False)
    shown = frame.drop(columns="error")
    shown["onnx"] = ["failed" if r.onnx_warning else r.onnx for r in rows]  # the sentence is a warning line
    print(shown.to_string(index=False))
    failed = [r for r in rows if not r.ok]
    for r in failed:
        print(f"FAILED {r.name}: {r.error}", file=sys.stderr)
    onnx_warnings(rows)
    print(f"\n{len(rows) - len(failed)}/{len(rows)} entries planned; yamls and plan.csv in {out}")
    return 1 if failed else 0


def onnx_warnings(rows: list[PlanRow]) -> None:
    """One warning line per planned model that does not export to ONNX (refused ones are FAILED
    lines already), and how many were checked."""
    checked = [r for r in rows if r.onnx and r.onnx != "off"]
    for r in checked:
        if r.onnx_warning and r.ok:
            print(f"warning: {r.name} does not export to ONNX: {r.onnx_warning}", file=sys.stderr)
    if checked:
        diffs = [r.onnx_max_rel_diff for r in checked if not r.onnx_warning and r.onnx_max_rel_diff is not None]
        worst = f" (largest relative difference to PyTorch {max(diffs):.1e})" if diffs else ""
        passed = sum(not r.onnx_warning for r in checked)
        print(
            f"onnx: {passed}/{len(checked)} export and run in ONNX Runtime{worst}; onnx.enabled=false skips the check"
        )
