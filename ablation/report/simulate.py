"""Simulated grids with known truth: how often does a table call noise better/worse, how often
does it find real effects, and how many runs do adaptive seeds save?

A grid is ``configs`` configs and their baseline, each trained with ``seeds`` seeds. Seed s moves
every config of that seed together (``seed_sd``: the luck a config shares with its paired
baseline) and each run by its own paired noise (``paired_sd``: the standard deviation of Δ). The
first ``effects`` configs differ from the baseline by ``effect`` paired standard deviations, the
others not at all. The runs frame has the columns and tags a sweep records (``runs.tidy``), so
the same frame can be written to a real MLflow store (``log_grid``) and read back through
``ablation.export`` (``export_configs``), or aggregated in memory with the same functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ablation.report.adaptive import Design, next_round
from ablation.report.runs import RUN_COLUMNS
from ablation.report.stats import BASELINE as BASELINE_VERDICT
from ablation.report.stats import NO_EVIDENCE, SINGLE_SEED, configs_frame, family_columns
from ablation.track import Store
from ablation.track.schema import (
    ATTENTION,
    BASELINE_HASH,
    CONFIG_HASH,
    FINISHED,
    GFLOPS,
    GROUP_HASH,
    MAP50,
    MAP50_95,
    MODEL,
    PARAMS,
    PLACEMENT,
    SEED,
    TRAIN_EPOCHS,
    TRAIN_IMGSZ,
)

BASELINE = "base"
# a set of trained ``config_hash`` es → the configs frame of those runs (in memory, or from a store)
Reader = Callable[[set[str]], pd.DataFrame]


@dataclass(frozen=True)
class Scenario:
    configs: int = 60
    seeds: int = 5
    effects: int = 0
    effect: float = 6.0  # in paired standard deviations
    paired_sd: float = 0.01  # Δ's standard deviation over seeds (1 point of mAP)
    seed_sd: float = 0.03  # seed luck shared by a config and its baseline
    base: float = 0.30

    @property
    def runs(self) -> int:
        """Runs of the fixed design: every config and the baseline, every seed."""
        return (self.configs + 1) * self.seeds


def simulate_runs(scenario: Scenario, rng: np.random.Generator) -> pd.DataFrame:
    """One grid's runs, one row per config and seed, as ``runs.tidy`` returns them."""
    rows = []
    luck = scenario.base + scenario.seed_sd * rng.standard_normal(scenario.seeds)
    for i in range(-1, scenario.configs):
        delta = scenario.effect * scenario.paired_sd if 0 <= i < scenario.effects else 0.0
        for s in range(scenario.seeds):
            value = luck[s] if i < 0 else luck[s] + delta + scenario.paired_sd * rng.standard_normal()
            rows.append(_run(i, s, float(value)))
    return pd.DataFrame(rows).reindex(columns=RUN_COLUMNS)


def _run(i: int, seed: int, value: float) -> dict[str, object]:
    attention = "none" if i < 0 else f"sim{i}"
    group = BASELINE if i < 0 else f"c{i:03d}"
    return {
        "name": f"yolov5n-{attention}" + ("" if i < 0 else "-neck"),
        "config_hash": f"{group}-s{seed}",
        "group_hash": group,
        "baseline_hash": f"{BASELINE}-s{seed}",
        "model": "yolov5n",
        "attention": attention,
        "placement": "-" if i < 0 else "neck",
        "seed": seed,
        "error": "",
        "run_id": f"{group}-s{seed}",
        "status": FINISHED,
        "start_time": pd.Timestamp(0),
        "mAP50-95": value,
        "mAP50": 2 * value,
        "params": 1.77e6,
        "gflops": 4.2,
        "epochs": "3",
        "imgsz": "64",
    }


def is_effect(configs: pd.DataFrame, scenario: Scenario) -> pd.Series:
    """True for the configs that really differ from the baseline."""
    index = configs["group_hash"].str.removeprefix("c").map(lambda v: int(v) if v.isdigit() else -1)
    return (index >= 0) & (index < scenario.effects)


def in_memory(runs: pd.DataFrame, correction: str = "holm", alpha: float = 0.05) -> Reader:
    """``stats.configs_frame`` of the trained runs: every column the export writes (slow: pandas per config)."""
    return lambda hashes: configs_frame(runs[runs["config_hash"].isin(hashes)], "mAP50-95", None, correction, alpha)


def in_memory_fast(runs: pd.DataFrame, correction: str = "holm", alpha: float = 0.05) -> Reader:
    """The verdict columns only (pairs, Δ, its spread, raw p), aggregated with one groupby, then the
    same ``stats.family_columns`` the export uses; ``tests/report/test_simulate.py`` checks it
    against the export of the same runs from MLflow."""

    def read(hashes: set[str]) -> pd.DataFrame:
        from scipy import stats

        done = runs[runs["config_hash"].isin(hashes)]
        base = done[done["group_hash"] == BASELINE].set_index("config_hash")["mAP50-95"]
        paired = (
            done[done["group_hash"] != BASELINE]
            .assign(d=lambda f: f["mAP50-95"] - f["baseline_hash"].map(base))
            .dropna(subset=["d"])
        )
        g = paired.groupby("group_hash", sort=False)["d"].agg(["count", "mean", "std"])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = g["mean"] / (g["std"] / np.sqrt(g["count"]))
            p = np.where(g["count"] >= 2, 2 * stats.t.sf(np.abs(t), np.maximum(g["count"] - 1, 1)), np.nan)
        frame = pd.DataFrame(
            {
                "group_hash": g.index,
                "pairs": g["count"].to_numpy(),
                "delta_mAP50-95": g["mean"].to_numpy(),
                "delta_sd": g["std"].to_numpy(),
                "p_value": p,
                "verdict": np.where(g["count"] >= 2, NO_EVIDENCE, SINGLE_SEED),
            }
        )
        baseline = pd.DataFrame(
            {
                "group_hash": [BASELINE],
                "pairs": [0],
                "delta_mAP50-95": [np.nan],
                "delta_sd": [np.nan],
                "p_value": [np.nan],
                "verdict": [BASELINE_VERDICT],
            }
        )
        return family_columns(pd.concat([baseline, frame], ignore_index=True), "mAP50-95", correction, alpha)

    return read


def seeds_hashes(runs: pd.DataFrame, seeds: int) -> set[str]:
    return set(runs.loc[runs["seed"] < seeds, "config_hash"])


def log_grid(uri: str, experiment: str, runs: pd.DataFrame) -> float:
    """Write runs into an MLflow store as a sweep records them (identity tags, params, final
    metrics, FINISHED); returns the seconds it took (the experiment's creation left out)."""
    store = Store(uri, experiment)
    store.experiment_id  # noqa: B018 - created before the clock starts
    started = time.perf_counter()
    for run in runs.to_dict("records"):
        tags = {k: str(run[k]) for k in (CONFIG_HASH, GROUP_HASH, BASELINE_HASH, MODEL, ATTENTION, PLACEMENT, SEED)}
        run_id = store.start(run["name"], tags)
        store.log_params(run_id, {SEED: run["seed"], TRAIN_EPOCHS: run["epochs"], TRAIN_IMGSZ: run["imgsz"]})
        store.log_metrics(run_id, {k: run[k] for k in (MAP50, MAP50_95, PARAMS, GFLOPS)}, step=3)
        store.end(run_id, FINISHED)
    return time.perf_counter() - started


def export_configs(uri: str, experiment: str, out: str, correction: str = "holm") -> pd.DataFrame:
    """The configs CSV ``python -m ablation.export`` writes for the experiment, read back."""
    import contextlib
    import io

    from ablation.report.export import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(
            [
                f"tracking.uri={uri}",
                f"tracking.experiment={experiment}",
                f"out={out}",
                f"verdict.correction={correction}",
            ]
        )
    if code != 0:
        raise RuntimeError(f"ablation.export exited {code} for experiment {experiment}")
    return pd.read_csv(out, keep_default_na=True)


@dataclass
class Adaptive:
    configs: pd.DataFrame  # the final table
    runs: int  # runs trained (baselines included)
    rounds: int


def run_adaptive(
    grid: pd.DataFrame, design: Design, read: Reader, train: Callable[[list[str]], None] | None = None
) -> Adaptive:
    """The adaptive design on a grid whose every seed is simulated (``grid``): round after round,
    ``next_round`` picks what to train (``train`` records it, e.g. writes it to a store), ``read``
    aggregates what was trained so far."""
    trained: set[str] = set()
    table = pd.DataFrame()
    rounds = 0
    while True:
        launch = next_round(grid, table, trained, design, spent=len(trained))
        if not launch:
            return Adaptive(table, len(trained), rounds)
        if train:
            train(launch)
        trained |= set(launch)
        rounds += 1
        table = read(trained)


def grid_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """``next_round``'s view of a grid: one row per entry."""
    return runs[["config_hash", "group_hash", "baseline_hash", "seed"]].assign(baseline=runs["group_hash"] == BASELINE)


@dataclass
class GridResult:
    false_verdicts: int  # null configs called better/worse
    found: int  # effect configs called better
    effects: int
    agree: float | None = None  # adaptive: share of configs with the fixed design's verdict
    runs: int | None = None  # adaptive: runs trained
    fixed_runs: int | None = None


def judge(configs: pd.DataFrame, scenario: Scenario) -> GridResult:
    """False verdicts (a null config called better or worse) and effects found (called better)."""
    effect = is_effect(configs, scenario)
    decided = configs["verdict"].isin(("better", "worse"))
    return GridResult(
        int((decided & ~effect).sum()), int((effect & (configs["verdict"] == "better")).sum()), scenario.effects
    )


def compare(fixed: pd.DataFrame, adaptive: pd.DataFrame) -> float:
    """Share of configs whose adaptive verdict equals the fixed design's (baseline left out)."""
    a = adaptive.set_index("group_hash")["verdict"]
    f = fixed[fixed["verdict"] != "baseline"].set_index("group_hash")["verdict"]
    return float((a.reindex(f.index) == f).mean())


@dataclass
class Tally:
    """Totals over many grids of one scenario."""

    grids: int = 0
    grids_with_false: int = 0  # grids with any null config called better/worse
    false_verdicts: int = 0
    found: int = 0
    effects: int = 0
    agree: list[float] | None = None
    runs: int = 0  # adaptive runs
    adaptive_grids_with_false: int = 0
    adaptive_found: int = 0
    fixed_runs: int = 0
    write_seconds: float = 0.0
    written: int = 0

    def add(self, result: GridResult) -> None:
        self.grids += 1
        self.grids_with_false += result.false_verdicts > 0
        self.false_verdicts += result.false_verdicts
        self.found += result.found
        self.effects += result.effects

    @property
    def power(self) -> float:
        return self.found / self.effects if self.effects else float("nan")


def run_grids(
    scenario: Scenario,
    grids: int,
    seeds: int,
    correction: str = "holm",
    design: Design | None = None,
    seed: int = 0,
    store: str | None = None,
    out: str = "simulated.csv",
) -> Tally:
    """``grids`` simulated grids of ``scenario`` judged on their first ``seeds`` seeds (fixed
    design); with ``design`` also adaptively (compared with the fixed verdicts). ``store``: write
    each grid to this MLflow store (one experiment per grid) and read the fixed table back
    through ``ablation.export``, the adaptive rounds through ``summarise`` as the sweep does."""
    from ablation.report.summary import summarise

    tally = Tally(agree=[] if design else None)
    rng = np.random.default_rng(seed)
    for g in range(grids):
        runs = simulate_runs(scenario, rng)
        runs = runs[runs["seed"] < max(seeds, design.max_seeds if design else 0)]
        fixed_hashes = seeds_hashes(runs, seeds)
        if store:
            experiment = f"sim-{scenario.configs}x{seeds}-e{scenario.effects}-{seed}-{g:04d}"
            tally.write_seconds += log_grid(store, experiment, runs[runs["config_hash"].isin(fixed_hashes)])
            tally.written += len(fixed_hashes)
            fixed = export_configs(store, experiment, out, correction)
        else:
            fixed = in_memory_fast(runs, correction)(fixed_hashes)
        tally.add(judge(fixed, scenario))
        if design is None:
            continue
        if store:
            adaptive_exp = f"{experiment}-adaptive"
            tally.write_seconds += log_grid(store, adaptive_exp, runs.iloc[:0])

            def train(hashes: list[str], name: str = adaptive_exp, runs: pd.DataFrame = runs) -> None:
                tally.write_seconds += log_grid(store, name, runs[runs["config_hash"].isin(hashes)])
                tally.written += len(hashes)

            def read(hashes: set[str], name: str = adaptive_exp) -> pd.DataFrame:
                return summarise(store, name, hashes=hashes, correction=correction).configs

            result = run_adaptive(grid_frame(runs), design, read, train)
        else:
            result = run_adaptive(grid_frame(runs), design, in_memory_fast(runs, correction))
        tally.agree.append(compare(fixed, result.configs))
        judged = judge(result.configs, scenario)
        tally.adaptive_grids_with_false += judged.false_verdicts > 0
        tally.adaptive_found += judged.found
        tally.runs += result.runs
        tally.fixed_runs += len(fixed_hashes)
    return tally
