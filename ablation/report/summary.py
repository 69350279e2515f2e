"""An experiment's runs and their per-config statistics, as the commands and the sweep use them."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from omegaconf import DictConfig

from ablation.report import family
from ablation.report.bootstrap import run_bootstrap
from ablation.report.power import Estimate
from ablation.report.runs import load_runs
from ablation.report.stats import BOOTSTRAP_METRIC, check_metric, configs_frame, family_power, with_deltas


@dataclass
class Summary:
    uri: str
    experiment: str
    metric: str
    runs: pd.DataFrame  # one row per config and seed, with ``delta_*`` to its paired baseline
    configs: pd.DataFrame  # one row per config: ``stats.configs_frame``
    correction: str = family.DEFAULT_CORRECTION
    alpha: float = family.DEFAULT_ALPHA

    @property
    def power(self) -> Estimate | None:
        """Seeds a Δ of 0.5 and 1.0 points needs in this table (``power.Estimate``)."""
        return family_power(self.configs, self.correction, self.alpha)


def summarise(
    uri: str | None,
    experiment: str,
    metric: str = "mAP50-95",
    hashes: Iterable[str] | None = None,
    resamples: int = 1000,
    seed: int = 0,
    correction: str = family.DEFAULT_CORRECTION,
    alpha: float = family.DEFAULT_ALPHA,
) -> Summary:
    """Load the experiment's config runs (only ``hashes`` when given) and aggregate them, verdicts
    corrected over the table (``correction``); a config trained with one seed gets the paired
    image bootstrap on ``metric``'s COCO counterpart when its runs have ``eval/`` artifacts.
    Raises ``stats.MetricError`` when no run logged ``metric``, ``family.CorrectionError`` for a
    bad correction."""
    from ablation.track import Store

    family.check(correction, alpha)
    store = Store(uri, experiment)
    runs = load_runs(store.uri, experiment, hashes)
    if not runs.empty:
        check_metric(runs, metric)

    def single_seed(run: pd.Series):
        label = f"{run['name']} (seed {run['seed']:g})"
        return run_bootstrap(
            store, run["run_id"], run["baseline_run_id"], BOOTSTRAP_METRIC[metric], resamples, seed, label
        )

    configs = configs_frame(runs, metric, single_seed, correction, alpha)
    return Summary(
        store.uri, experiment, metric, with_deltas(runs) if not runs.empty else runs, configs, correction, alpha
    )


def summarise_command(cfg: DictConfig, hashes: Iterable[str] | None = None) -> Summary | None:
    """``summarise`` with a command's options (``metric``, ``bootstrap.*``, ``verdict.*``); None
    after one ``error:`` line when the metric or correction is wrong."""
    from ablation.report.family import CorrectionError
    from ablation.report.stats import MetricError

    verdict = cfg.get("verdict") or {}
    try:
        return summarise(
            cfg.tracking.uri,
            str(cfg.tracking.experiment),
            str(cfg.get("metric", "mAP50-95")),
            hashes,
            resamples=int(cfg.bootstrap.resamples),
            seed=int(cfg.bootstrap.seed),
            correction=str(verdict.get("correction", family.DEFAULT_CORRECTION)),
            alpha=float(verdict.get("alpha", family.DEFAULT_ALPHA)),
        )
    except (MetricError, CorrectionError) as err:
        print(f"error: {err}", file=sys.stderr)
        return None
