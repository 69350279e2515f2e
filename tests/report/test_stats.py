"""Seed statistics on a synthetic MLflow store with known numbers (see conftest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ablation.report.stats import pareto_front, t_interval
from ablation.report.summary import Summary, summarise
from tests.report.conftest import BASE, DELTAS, SEEDS


@pytest.fixture(scope="module")
def summary(seeded_store: str) -> Summary:
    return summarise(seeded_store, "synthetic")


def by_name(summary: Summary) -> pd.DataFrame:
    return summary.configs.set_index("name")


def by_hand(values: list[float]) -> tuple[float, float, float]:
    mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    half = stats.t.ppf(0.975, len(values) - 1) * sd / np.sqrt(len(values))
    return mean, mean - half, mean + half


def test_t_interval() -> None:
    assert t_interval([0.1, 0.2, 0.4]) == pytest.approx(by_hand([0.1, 0.2, 0.4]))
    assert t_interval([0.3, float("nan")])[0] == 0.3 and np.isnan(t_interval([0.3])[1])
    assert all(np.isnan(t_interval([])))


def test_one_row_per_config_without_the_sweep_run(summary: Summary) -> None:
    configs = by_name(summary)
    assert sorted(configs.index) == sorted(
        ["yolov5n-none", "yolov5n-se-neck", "yolov5n-simam-neck", "yolov5n-eca-neck", "yolov5n-<gam>&-neck"]
    )
    assert len(summary.runs) == 5 * len(SEEDS)  # the failed first try of se seed 0 gave way to its FINISHED run
    assert set(configs["seeds"]) == {3} and configs.loc["yolov5n-se-neck", "n"] == 3


def test_means_and_intervals_over_seeds(summary: Summary) -> None:
    configs = by_name(summary)
    for attention, name in (("se", "yolov5n-se-neck"), ("none", "yolov5n-none")):
        values = [BASE[s] + (DELTAS[attention][i] if attention in DELTAS else 0) for i, s in enumerate(SEEDS)]
        row = configs.loc[name]
        assert (row["mAP50-95"], row["mAP50-95_lo"], row["mAP50-95_hi"]) == pytest.approx(by_hand(values))
        assert (row["mAP50"], row["mAP50_lo"], row["mAP50_hi"]) == pytest.approx(by_hand([2 * v for v in values]))
    assert configs.loc["yolov5n-se-neck", "gflops"] == pytest.approx(4.3)
    assert configs.loc["yolov5n-se-neck", "latency_ms"] == pytest.approx(3.6)
    assert configs["coco/AP"].isna().all()  # never logged: a column of NaN, no error


def test_paired_differences_and_verdicts(summary: Summary) -> None:
    configs = by_name(summary)
    for attention, deltas in DELTAS.items():
        row = configs.loc[f"yolov5n-{attention}-neck"]
        assert (row["delta_mAP50-95"], row["delta_mAP50-95_lo"], row["delta_mAP50-95_hi"]) == pytest.approx(
            by_hand(list(deltas))
        )
        assert row["pairs"] == 3
    # se is better in every seed although its interval over seeds overlaps the baseline's: pairing
    se, base = configs.loc["yolov5n-se-neck"], configs.loc["yolov5n-none"]
    assert se["mAP50-95_lo"] < base["mAP50-95_hi"]
    assert configs["verdict"].to_dict() == {
        "yolov5n-se-neck": "better",
        "yolov5n-simam-neck": "worse",
        "yolov5n-eca-neck": "no evidence",
        "yolov5n-none": "baseline",
        "yolov5n-<gam>&-neck": "failed",
    }
    runs = summary.runs.set_index(["name", "seed"])
    assert runs.loc[("yolov5n-simam-neck", 1), "delta_mAP50-95"] == pytest.approx(DELTAS["simam"][1])
    assert runs.loc[("yolov5n-<gam>&-neck", 2), "status"] == "FAILED"
    assert np.isnan(runs.loc[("yolov5n-<gam>&-neck", 2), "delta_mAP50-95"])


def test_pareto_front(summary: Summary) -> None:
    configs = by_name(summary)
    # none (4.2 GFLOPs) beats simam (same cost, lower mAP) and eca (more cost, same mAP); se is the most accurate
    assert set(configs.index[configs["pareto_gflops"]]) == {"yolov5n-none", "yolov5n-se-neck"}
    frame = pd.DataFrame({"cost": [1.0, 2.0, 2.0, 3.0, np.nan], "gain": [0.1, 0.3, 0.2, 0.3, 0.9]})
    assert pareto_front(frame, "cost", "gain").tolist() == [True, True, False, False, False]
    assert not pareto_front(frame, "latency_ms", "gain").any()


def test_single_seed_verdict_without_artifacts(store_uri: str) -> None:
    from ablation.track import Store
    from tests.report.conftest import log_run, values

    store = Store(store_uri, "one-seed-no-artifacts")
    log_run(store, "yolov5n-none", "none", 0, values("none", 0))
    log_run(store, "yolov5n-se-neck", "se", 0, values("se", 0))
    configs = summarise(store_uri, "one-seed-no-artifacts").configs.set_index("name")
    assert configs.loc["yolov5n-se-neck", "verdict"] == "single seed"
    assert configs.loc["yolov5n-se-neck", "delta_mAP50-95"] == pytest.approx(DELTAS["se"][0])
    assert np.isnan(configs.loc["yolov5n-se-neck", "delta_mAP50-95_lo"])


def test_duplicate_finished_runs_of_one_config_count_once_the_newest(store_uri: str) -> None:
    from ablation.track import Store
    from tests.report.conftest import log_run, values

    store = Store(store_uri, "duplicates")
    for seed in SEEDS:
        log_run(store, "yolov5n-none", "none", seed, values("none", seed))
        log_run(store, "yolov5n-se-neck", "se", seed, {**values("se", seed), "mAP50-95": 0.9})  # an older finished run
        log_run(store, "yolov5n-se-neck", "se", seed, values("se", seed))  # the same config finished again
    log_run(
        store, "yolov5n-none", "none", 0, {**values("none", 0), "mAP50-95": 0.1}, status="FAILED"
    )  # a later failed retry
    summary = summarise(store_uri, "duplicates")
    assert len(summary.runs) == 2 * len(SEEDS)
    se = by_name(summary).loc["yolov5n-se-neck"]
    assert (se["seeds"], se["n"], se["pairs"]) == (3, 3, 3)
    assert (se["delta_mAP50-95"], se["delta_mAP50-95_lo"], se["delta_mAP50-95_hi"]) == pytest.approx(
        by_hand(list(DELTAS["se"]))
    )
    assert by_name(summary).loc["yolov5n-none", "mAP50-95"] == pytest.approx(np.mean(list(BASE.values())))


def test_a_missing_baseline_seed_pairs_the_other_seeds_only(store_uri: str) -> None:
    from ablation.track import Store
    from tests.report.conftest import log_run, values

    store = Store(store_uri, "missing-baseline-seed")
    for seed in SEEDS:
        if seed != 2:  # the baseline of seed 2 never ran
            log_run(store, "yolov5n-none", "none", seed, values("none", seed))
        log_run(store, "yolov5n-se-neck", "se", seed, values("se", seed))
    summary = summarise(store_uri, "missing-baseline-seed")
    se = by_name(summary).loc["yolov5n-se-neck"]
    assert (se["n"], se["pairs"]) == (3, 2)
    assert se["mAP50-95"] == pytest.approx(np.mean([BASE[s] + DELTAS["se"][i] for i, s in enumerate(SEEDS)]))
    assert (se["delta_mAP50-95"], se["delta_mAP50-95_lo"], se["delta_mAP50-95_hi"]) == pytest.approx(
        by_hand(list(DELTAS["se"][:2]))
    )
    runs = summary.runs.set_index(["name", "seed"])
    assert np.isnan(runs.loc[("yolov5n-se-neck", 2), "delta_mAP50-95"]) and pd.isna(
        runs.loc[("yolov5n-se-neck", 2), "baseline_run_id"]
    )
