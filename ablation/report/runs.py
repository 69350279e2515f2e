"""MLflow runs of one experiment as a pandas frame: one row per config (``config_hash``).

Sweep parent runs (tag ``sweep=true``) are left out. Several runs of one config (a failed try,
then a finished one) collapse to the newest FINISHED, or to the newest run when none finished
(so that a config that only ever failed still shows up, as failed).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

FINISHED = "FINISHED"
TAGS = (
    "name",
    "config_hash",
    "group_hash",
    "baseline_hash",
    "model",
    "attention",
    "placement",
    "seed",
    "error",
    "code_fingerprint",
    "packages_fingerprint",
    "data_fingerprint",
    "files_fingerprint",
)  # what else the hashes cover (ablation.config.fingerprint)
PARAMS = {
    "train.epochs": "epochs",
    "train.imgsz": "imgsz",
    "latency_device": "latency_device",
    "weights_transferred": "weights_transferred",
}
METRICS = (
    "mAP50",
    "mAP50-95",
    "precision",
    "recall",
    "params",
    "gflops",
    "train_seconds",
    "coco/AP",
    "coco/AP50",
    "coco/AP75",
    "coco/AP_small",
    "coco/AP_medium",
    "coco/AP_large",
    "coco/AR100",
    "latency_ms",
    "latency_p90_ms",
)
FINAL_STEP_METRIC = "train_seconds"  # logged once, at the final re-validation's step (epochs trained)
RUN_COLUMNS = [*TAGS, "run_id", "status", "start_time", *PARAMS.values(), *METRICS]


def search_frame(uri: str | None, experiment: str) -> pd.DataFrame:
    """``mlflow.search_runs`` of the experiment (every run, every column); empty if it does not exist."""
    import mlflow

    from ablation.track.store import resolve_uri

    uri = resolve_uri(uri)
    found = mlflow.MlflowClient(tracking_uri=uri).get_experiment_by_name(experiment)
    if found is None:
        return pd.DataFrame()
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)  # search_runs takes no URI; put the caller's back after
    try:
        return mlflow.search_runs(experiment_ids=[found.experiment_id], output_format="pandas")
    finally:
        mlflow.set_tracking_uri(previous)


def tidy(raw: pd.DataFrame, hashes: Iterable[str] | None = None) -> pd.DataFrame:
    """``search_frame``'s output as one row per ``config_hash`` with plain column names
    (``RUN_COLUMNS``; a metric nobody logged is a column of NaN). ``hashes``: keep only these configs."""
    frame = pd.DataFrame(index=raw.index)
    for tag in TAGS:
        key = "mlflow.runName" if tag == "name" else tag
        frame[tag] = _column(raw, f"tags.{key}", "")
    frame["run_id"] = _column(raw, "run_id", "")
    frame["status"] = _column(raw, "status", "")
    frame["start_time"] = _column(raw, "start_time", pd.NaT)
    for param, name in PARAMS.items():
        frame[name] = _column(raw, f"params.{param}", "")
    for metric in METRICS:
        frame[metric] = pd.to_numeric(_column(raw, f"metrics.{metric}", float("nan")), errors="coerce")
    sweep = _column(raw, "tags.sweep", "").astype(str) == "true"
    frame = frame[~sweep & (frame["config_hash"].astype(str) != "")]
    if hashes is not None:
        frame = frame[frame["config_hash"].isin(set(hashes))]
    frame = frame.assign(_finished=frame["status"] == FINISHED).sort_values(["_finished", "start_time"], kind="stable")
    frame = frame.drop_duplicates("config_hash", keep="last").drop(columns="_finished")
    frame["seed"] = pd.to_numeric(frame["seed"], errors="coerce")
    return frame.reset_index(drop=True)[RUN_COLUMNS]


def _column(raw: pd.DataFrame, key: str, default: object) -> pd.Series:
    """``raw[key]`` with gaps filled by ``default``; all ``default`` when MLflow has no such column."""
    if key not in raw.columns:
        return pd.Series([default] * len(raw), index=raw.index, dtype=object if isinstance(default, str) else None)
    return raw[key] if isinstance(default, float) or default is pd.NaT else raw[key].fillna(default)


def load_runs(uri: str | None, experiment: str, hashes: Iterable[str] | None = None) -> pd.DataFrame:
    """The tidy frame of an experiment's config runs (``tidy(search_frame(...))``)."""
    return tidy(search_frame(uri, experiment), hashes)


def epoch_history(uri: str | None, runs: pd.DataFrame, metric: str = "mAP50") -> pd.DataFrame:
    """Per-epoch values of ``metric`` for the FINISHED runs: columns run_id, group_hash, epoch,
    value. The final re-validation of best.pt is dropped: it is logged one step after the last
    epoch trained, with ``train_seconds`` (logged at that step only), which is earlier
    than ``train.epochs`` when ``train.patience`` stopped the run; runs without that metric fall
    back to ``train.epochs``."""
    from mlflow.tracking import MlflowClient

    from ablation.track.store import resolve_uri

    client = MlflowClient(tracking_uri=resolve_uri(uri))
    records = []
    for run in runs[runs["status"] == FINISHED].itertuples(index=False):
        final = [point.step for point in client.get_metric_history(run.run_id, FINAL_STEP_METRIC)]
        end = min(final) if final else pd.to_numeric(run.epochs, errors="coerce")
        for point in client.get_metric_history(run.run_id, metric):
            if pd.isna(end) or point.step < end:
                records.append(
                    {"run_id": run.run_id, "group_hash": run.group_hash, "epoch": point.step, "value": point.value}
                )
    return pd.DataFrame(records, columns=["run_id", "group_hash", "epoch", "value"])
