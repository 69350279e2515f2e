"""Track: every run's params, per-epoch metrics, final metrics and artifacts in MLflow; the names
they are written with are ``ablation.track.schema``."""

from ablation.track.schema import FAILED, FINISHED, KILLED, RUNNING, SKIPPED
from ablation.track.store import Store, resolve_uri

__all__ = ["FAILED", "FINISHED", "KILLED", "RUNNING", "SKIPPED", "Store", "resolve_uri"]
