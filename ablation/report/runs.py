"""MLflow runs of one experiment as a pandas frame: one row per config (``config_hash``).

Sweep parent runs (tag ``sweep=true``) are left out. Several runs of one config (a failed try,
then a finished one) collapse to the newest FINISHED, or to the newest run when none finished
(so that a config that only ever failed still shows up, as failed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ablation.track import FINISHED, Store
from ablation.track.schema import (
    ATTENTION,
    BASELINE_HASH,
    COCO_AP,
    COCO_AP50,
    COCO_AP75,
    COCO_AP_LARGE,
    COCO_AP_MEDIUM,
    COCO_AP_SMALL,
    COCO_AR100,
    CONFIG_HASH,
    CONTROL,
    ERROR,
    FINGERPRINT_TAGS,
    GFLOPS,
    GROUP_HASH,
    MAP50,
    MAP50_95,
    MODEL,
    PARAMS,
    PLACEMENT,
    PRECISION,
    RECALL,
    RUN_NAME,
    RUNTIMES,
    SEED,
    SWEEP,
    SWEEP_TRUE,
    TRAIN_EPOCHS,
    TRAIN_IMGSZ,
    TRAIN_SECONDS,
    WEIGHTS_TRANSFERRED,
)

# column → tag; the fingerprints: what else the hashes cover (ablation.config.fingerprint)
TAG_COLUMNS = {
    "name": RUN_NAME,
    **{tag: tag for tag in (CONFIG_HASH, GROUP_HASH, BASELINE_HASH, MODEL, ATTENTION, PLACEMENT, SEED, ERROR, CONTROL)},
    **{tag: tag for tag in FINGERPRINT_TAGS},
}
TAGS = tuple(TAG_COLUMNS)
PARAMS_READ = {  # param → column
    TRAIN_EPOCHS: "epochs",
    TRAIN_IMGSZ: "imgsz",
    **{runtime.device: runtime.device for runtime in RUNTIMES},
    WEIGHTS_TRANSFERRED: WEIGHTS_TRANSFERRED,
}
METRICS = (
    MAP50,
    MAP50_95,
    PRECISION,
    RECALL,
    PARAMS,
    GFLOPS,
    TRAIN_SECONDS,
    COCO_AP,
    COCO_AP50,
    COCO_AP75,
    COCO_AP_SMALL,
    COCO_AP_MEDIUM,
    COCO_AP_LARGE,
    COCO_AR100,
    *(name for runtime in RUNTIMES for name in (runtime.ms, runtime.p90_ms)),
)
FINAL_STEP_METRIC = TRAIN_SECONDS  # logged once, at the final re-validation's step (epochs trained)
RUN_COLUMNS = [*TAGS, "run_id", "status", "start_time", *PARAMS_READ.values(), *METRICS]


def search_frame(uri: str | None, experiment: str) -> pd.DataFrame:
    """Every run of the experiment, one row each, in ``mlflow.search_runs``' columns (``run_id``,
    ``status``, ``start_time``, ``tags.*``, ``params.*``, ``metrics.*``: the latest value of each);
    empty if the experiment does not exist. Read through the store (no artifact is downloaded)."""
    store = Store(uri, experiment)
    if store.find_experiment_id() is None:
        return pd.DataFrame()
    return pd.DataFrame([_row(run) for run in store.runs()])


def _row(run: Any) -> dict[str, Any]:
    return {
        "run_id": run.info.run_id,
        "status": run.info.status,
        "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True),
        **{f"tags.{k}": v for k, v in run.data.tags.items()},
        **{f"params.{k}": v for k, v in run.data.params.items()},
        **{f"metrics.{k}": v for k, v in run.data.metrics.items()},
    }


def tidy(raw: pd.DataFrame, hashes: Iterable[str] | None = None) -> pd.DataFrame:
    """``search_frame``'s output as one row per ``config_hash`` with plain column names
    (``RUN_COLUMNS``; a metric nobody logged is a column of NaN). ``hashes``: keep only these configs."""
    frame = pd.DataFrame(index=raw.index)
    for column, tag in TAG_COLUMNS.items():
        frame[column] = _column(raw, f"tags.{tag}", "")
    frame["run_id"] = _column(raw, "run_id", "")
    frame["status"] = _column(raw, "status", "")
    frame["start_time"] = _column(raw, "start_time", pd.NaT)
    for param, name in PARAMS_READ.items():
        frame[name] = _column(raw, f"params.{param}", "")
    for metric in METRICS:
        frame[metric] = pd.to_numeric(_column(raw, f"metrics.{metric}", float("nan")), errors="coerce")
    sweep = _column(raw, f"tags.{SWEEP}", "").astype(str) == SWEEP_TRUE
    frame = frame[~sweep & (frame[CONFIG_HASH].astype(str) != "")]
    if hashes is not None:
        frame = frame[frame[CONFIG_HASH].isin(set(hashes))]
    frame = frame.assign(_finished=frame["status"] == FINISHED).sort_values(["_finished", "start_time"], kind="stable")
    frame = frame.drop_duplicates(CONFIG_HASH, keep="last").drop(columns="_finished")
    frame[SEED] = pd.to_numeric(frame[SEED], errors="coerce")
    return frame.reset_index(drop=True)[RUN_COLUMNS]


def _column(raw: pd.DataFrame, key: str, default: object) -> pd.Series:
    """``raw[key]`` with gaps filled by ``default``; all ``default`` when MLflow has no such column."""
    if key not in raw.columns:
        return pd.Series([default] * len(raw), index=raw.index, dtype=object if isinstance(default, str) else None)
    return raw[key] if isinstance(default, float) or default is pd.NaT else raw[key].fillna(default)


def load_runs(uri: str | None, experiment: str, hashes: Iterable[str] | None = None) -> pd.DataFrame:
    """The tidy frame of an experiment's config runs (``tidy(search_frame(...))``)."""
    return tidy(search_frame(uri, experiment), hashes)


def epoch_history(uri: str | None, runs: pd.DataFrame, metric: str = MAP50) -> pd.DataFrame:
    """Per-epoch values of ``metric`` for the FINISHED runs: columns run_id, group_hash, epoch,
    value. The final re-validation of best.pt is dropped: it is logged one step after the last
    epoch trained, with ``train_seconds`` (logged at that step only), which is earlier
    than ``train.epochs`` when ``train.patience`` stopped the run; runs without that metric fall
    back to ``train.epochs``."""
    store = Store(uri, "")  # by run id: no experiment is read or created
    records = []
    for run in runs[runs["status"] == FINISHED].itertuples(index=False):
        final = [point.step for point in store.metric_history(run.run_id, FINAL_STEP_METRIC)]
        end = min(final) if final else pd.to_numeric(run.epochs, errors="coerce")
        for point in store.metric_history(run.run_id, metric):
            if pd.isna(end) or point.step < end:
                records.append(
                    {"run_id": run.run_id, "group_hash": run.group_hash, "epoch": point.step, "value": point.value}
                )
    return pd.DataFrame(records, columns=["run_id", "group_hash", "epoch", "value"])
