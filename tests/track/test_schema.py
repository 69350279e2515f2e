"""The run schema's names are the ones existing stores hold: a changed value orphans old runs."""

from __future__ import annotations

from ablation.config.fingerprint import KINDS
from ablation.track import schema


def test_names_are_what_stores_already_hold() -> None:
    assert (schema.FINISHED, schema.FAILED, schema.KILLED, schema.RUNNING) == (
        "FINISHED",
        "FAILED",
        "KILLED",
        "RUNNING",
    )
    assert (schema.RUN_NAME, schema.PARENT_RUN_ID) == ("mlflow.runName", "mlflow.parentRunId")
    assert (schema.CONFIG_HASH, schema.GROUP_HASH, schema.BASELINE_HASH) == (
        "config_hash",
        "group_hash",
        "baseline_hash",
    )
    assert (schema.OWNER, schema.HEARTBEAT, schema.CHECKPOINT, schema.JOB_DIR) == (
        "owner",
        "heartbeat",
        "checkpoint",
        "job_dir",
    )
    assert (schema.INTERRUPTED, schema.RESUMED, schema.RESUMED_AT) == ("interrupted", "resumed", "resumed_at_epochs")
    assert schema.FINGERPRINT_TAGS == (
        "code_fingerprint",
        "packages_fingerprint",
        "data_fingerprint",
        "files_fingerprint",
    )
    assert schema.resumed_param_tag(2, "gpu") == "resume2.gpu" and schema.latency_param("imgsz") == "latency_imgsz"
    assert (schema.SWEEP, schema.SWEEP_TRUE) == ("sweep", "true")
    assert (schema.MAP50, schema.MAP50_95, schema.COCO_AP, schema.TRAIN_SECONDS) == (
        "mAP50",
        "mAP50-95",
        "coco/AP",
        "train_seconds",
    )
    assert (schema.EVAL_TRUTH, schema.EVAL_PREDICTIONS) == ("eval/instances_val.json", "eval/predictions.json")


def test_every_fingerprint_the_grid_computes_has_its_tag() -> None:
    assert schema.FINGERPRINT_KINDS == KINDS
