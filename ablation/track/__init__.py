"""Track: every run's params, per-epoch metrics, final metrics and artifacts in MLflow."""

from ablation.track.store import FAILED, FINISHED, KILLED, RUNNING, Store, resolve_uri

__all__ = ["FAILED", "FINISHED", "KILLED", "RUNNING", "Store", "resolve_uri"]
