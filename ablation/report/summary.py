"""An experiment's runs and their per-config statistics, as the commands and the sweep use them."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from omegaconf import DictConfig

from .bootstrap import run_bootstrap
from .runs import load_runs
from .stats import configs_frame, with_deltas


@dataclass
class Summary:
    uri: str
    experiment: str
    metric: str
    runs: pd.DataFrame  # one row per config and seed, with ``delta_*`` to its paired baseline
    configs: pd.DataFrame  # one row per config: ``stats.configs_frame``


def summarise(
    uri: str | None, experiment: str, metric: str = "mAP50-95", hashes: Iterable[str] | None = None,
    resamples: int = 1000, seed: int = 0,
) -> Summary:
    """Load the experiment's config runs (only ``hashes`` when given) and aggregate them; a config
    trained with one seed gets the paired image bootstrap when its runs have ``eval/`` artifacts."""
    from ..track.store import resolve_uri

    uri = resolve_uri(uri)
    runs = load_runs(uri, experiment, hashes)

    def single_seed(run: pd.Series):  # noqa: ANN202 - stats.SingleSeed
        label = f"{run['name']} (seed {run['seed']:g})"
        return run_bootstrap(uri, run["run_id"], run["baseline_run_id"], metric, resamples, seed, label)

    configs = configs_frame(runs, metric, single_seed)
    return Summary(uri, experiment, metric, with_deltas(runs) if not runs.empty else runs, configs)


def compose_command(config_name: str, argv: list[str] | None) -> DictConfig | None:
    """The command's Hydra config from its arguments; None (after one ``error:`` line) when they are wrong."""
    from hydra import initialize_config_dir

    from ..grid import CONF_DIR, ConfigError, compose_checked

    args = sys.argv[1:] if argv is None else argv
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            return compose_checked(config_name, args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return None
