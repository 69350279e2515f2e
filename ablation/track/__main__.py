"""``python -m ablation.track [tracking.uri=...] [tracking.experiment=...]``: how to open the
dashboard on an experiment's runs table (MLflow 3 otherwise opens an experiment on its GenAI view)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from ablation.config.compose import compose_command
    from ablation.track.remote import TrackingError, check_reachable, is_server
    from ablation.track.store import Store, not_created, resolve_uri

    cfg = compose_command("export", argv)
    if cfg is None:
        return 2
    uri, experiment = resolve_uri(cfg.tracking.uri), str(cfg.tracking.experiment)
    try:
        if is_server(uri):
            check_reachable(uri, experiment)
        elif not_created(uri):
            raise TrackingError(f"no MLflow store at {uri}; run a sweep first or pass tracking.uri=...")
    except TrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    store = Store(uri, experiment)
    if store.find_experiment_id() is None:
        print(f"note: {uri} has no experiment '{experiment}' yet", file=sys.stderr)
    print("\n".join(store.dashboard()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
