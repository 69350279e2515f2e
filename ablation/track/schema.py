"""The run schema: every tag key, param key, metric name, artifact path and status a run is
written with, named once. Writers (``ablation.job``, ``ablation.evaluate.record``,
``ablation.sweep``) and readers (``ablation.report``, the claim) use these names only; the values
are what existing stores hold, so changing one orphans every run written before.

Two kinds of runs share an experiment: one sweep parent run per command (tag ``sweep=true``) and
one config run per config, keyed by ``config_hash``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Run statuses (MLflow's RunStatus names); SKIPPED is a job's result only (the config was
# FINISHED before: no run is written).
FINISHED, FAILED, KILLED, RUNNING = "FINISHED", "FAILED", "KILLED", "RUNNING"
SKIPPED = "SKIPPED"

# MLflow's own tags
RUN_NAME = "mlflow.runName"
PARENT_RUN_ID = "mlflow.parentRunId"

# Config run: its identity (``ablation.config.grid.GridEntry``)
CONFIG_HASH, GROUP_HASH, BASELINE_HASH = "config_hash", "group_hash", "baseline_hash"
MODEL, ATTENTION, PLACEMENT, SEED = "model", "attention", "placement", "seed"  # tags and params
CONTROL = "control"  # tag of a control config: "width" for a wider baseline (model.widen)
FINGERPRINT_KINDS = ("code", "packages", "data", "files")  # ablation.config.fingerprint.KINDS


def fingerprint_tag(kind: str) -> str:
    """The tag of one fingerprint (what else the hashes cover): ``code_fingerprint``, ..."""
    return f"{kind}_fingerprint"


FINGERPRINT_TAGS = tuple(fingerprint_tag(kind) for kind in FINGERPRINT_KINDS)

# Config run: who trains it and where it stands (``ablation.job.claim``)
OWNER, HEARTBEAT, CHECKPOINT, JOB_DIR = "owner", "heartbeat", "checkpoint", "job_dir"
INTERRUPTED, RESUMED, RESUMED_AT = "interrupted", "resumed", "resumed_at_epochs"
ERROR = "error"  # the sentence a FAILED or KILLED run ended with
COCO_ERROR = "coco_error"  # a failed evaluation part (the run still finishes); latency: Runtime.error


def resumed_param_tag(resumes: int, key: str) -> str:
    """The tag keeping a param that changed on resume ``resumes`` (MLflow params cannot change)."""
    return f"resume{resumes}.{key}"


# Sweep parent run
SWEEP, SWEEP_TRUE = "sweep", "true"
COMMAND, JOBS = "command", "jobs"
SWEEP_CONFIGS, SWEEP_FAILED = "configs", "failed"  # its metrics

# Config run params (besides MODEL, ATTENTION, PLACEMENT, SEED); config groups are flattened
# as ``<group>.<key>`` (``train.epochs``), package versions as ``version.<package>``.
MODEL_CFG, DATA = "model.cfg", "data"
CONFIG_GROUPS = ("train", "attention", "placement", "data")
TRAIN_EPOCHS, TRAIN_IMGSZ = "train.epochs", "train.imgsz"
VERSION_PREFIX = "version."
GPU, TORCH_THREADS = "gpu", "torch_threads"
WEIGHTS, WEIGHTS_TRANSFERRED = "weights", "weights_transferred"
COCO_SOURCE = "coco_source"
# The planning-time ONNX check (conf/onnx): "ok", "off" or the failure's sentence (a warning),
# and the largest relative difference of ONNX Runtime's outputs to PyTorch's (a metric)
ONNX_CHECK, ONNX_MAX_REL_DIFF = "onnx", "onnx_max_rel_diff"
LATENCY_SETTINGS = ("device", "imgsz", "repeats", "warmup", "precision")


def latency_param(setting: str) -> str:
    """The param of one latency setting: ``latency_device``, ``latency_imgsz``, ..."""
    return f"latency_{setting}"


# Config run metrics: per epoch (step = epoch) and final (step = epochs trained: upstream's
# re-validation of best.pt, with the costs and the evaluation beside it)
MAP50, MAP50_95, PRECISION, RECALL = "mAP50", "mAP50-95", "precision", "recall"
PARAMS, GFLOPS = "params", "gflops"
TRAIN_SECONDS = "train_seconds"  # logged once, at the final step
IMAGES_PER_SECOND, GPU_MEM_PEAK_GB = "images_per_second", "gpu_mem_peak_gb"
COCO_PREFIX = "coco/"
COCO_AP, COCO_AP50, COCO_AP75 = "coco/AP", "coco/AP50", "coco/AP75"
COCO_AP_SMALL, COCO_AP_MEDIUM, COCO_AP_LARGE, COCO_AR100 = (
    "coco/AP_small",
    "coco/AP_medium",
    "coco/AP_large",
    "coco/AR100",
)
COCO_SECONDS = "coco_seconds"  # wall time of the COCO part; each latency part's is Runtime.seconds


def _suffixed(suffix: str) -> property:
    """A ``Runtime`` property naming one of its keys: ``<stem>_<suffix>``."""
    return property(lambda runtime: f"{runtime.stem}_{suffix}")


@dataclass(frozen=True)
class Runtime:
    """One runtime best.pt's latency is timed in (``ablation.evaluate``). Its ``stem`` prefixes
    result.json's entry and every name the run and the report give it: metrics ``<stem>_ms``
    (median), ``<stem>_p90_ms`` and ``<stem>_seconds`` (the part's wall time), param
    ``<stem>_device``, tag ``<stem>_error``; the report's ``<stem>_mixed`` and ``pareto_<stem>``."""

    name: str  # as the report writes it: "ONNX Runtime"
    stem: str  # "latency_ort"
    column: str  # the table's column: "ORT ms"
    deployed: bool = True  # timed on best.pt's ONNX export (False: PyTorch eager)

    ms = _suffixed("ms")
    p90_ms = _suffixed("p90_ms")
    device = _suffixed("device")
    seconds = _suffixed("seconds")
    error = _suffixed("error")
    mixed = _suffixed("mixed")  # the report's: its seeds were timed on different devices

    @property
    def pareto(self) -> str:
        """The report's flag: on this runtime's latency Pareto front."""
        return f"pareto_{self.stem}"


# PyTorch eager on the job's device; best.pt's ONNX export in ONNX Runtime and in OpenVINO, on
# the CPU (same size, warm-up and repeats as PyTorch's)
PYTORCH = Runtime("PyTorch", "latency", "latency ms", deployed=False)
ONNXRUNTIME = Runtime("ONNX Runtime", "latency_ort", "ORT ms")
OPENVINO = Runtime("OpenVINO", "latency_ov", "OV ms")
RUNTIMES = (PYTORCH, ONNXRUNTIME, OPENVINO)
LATENCY_MS, LATENCY_P90_MS, LATENCY_DEVICE = PYTORCH.ms, PYTORCH.p90_ms, PYTORCH.device
LATENCY_ERROR = PYTORCH.error
EVALUATION_ERRORS = (COCO_ERROR, *(runtime.error for runtime in RUNTIMES))

# Config run artifacts
EVAL_DIR = "eval"  # its folder (and the job folder's)
INSTANCES, PREDICTIONS = "instances_val.json", "predictions.json"
EVAL_TRUTH, EVAL_PREDICTIONS = f"{EVAL_DIR}/{INSTANCES}", f"{EVAL_DIR}/{PREDICTIONS}"
ERROR_FILE, TRAIN_LOG, MODEL_SUMMARY = "error.txt", "train.log", "model_summary.txt"
UPSTREAM_FILES = ("results.csv", "opt.yaml", "hyp.yaml")
WEIGHTS_DIR = "weights"
