"""Adaptive seeds: which configs get more seeds, the budget, and the sweep's rounds against a real store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from ablation.config.grid import GridEntry
from ablation.report import simulate
from ablation.report.adaptive import AdaptiveError, Design, next_round, states
from ablation.report.summary import summarise
from ablation.sweep.core import Triage
from ablation.sweep.rounds import rounds
from ablation.track import Store


def grid_and_runs(configs: int, seeds: int, effects: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = simulate.simulate_runs(
        simulate.Scenario(configs=configs, seeds=seeds, effects=effects, effect=8.0), np.random.default_rng(seed)
    )
    return simulate.grid_frame(runs), runs


def test_first_round_is_start_seeds_of_every_config_and_their_baselines() -> None:
    grid, _ = grid_and_runs(4, 5, 0)
    first = next_round(grid, pd.DataFrame(), set(), Design(start=2, max_seeds=5))
    assert sorted(first) == sorted(f"{g}-s{s}" for g in ("base", "c000", "c001", "c002", "c003") for s in (0, 1))


def test_only_configs_that_could_still_reach_a_verdict_get_more_seeds() -> None:
    grid, runs = grid_and_runs(20, 5, 2, seed=1)
    design = Design(start=2, max_seeds=5)
    trained = set(next_round(grid, pd.DataFrame(), set(), design))
    table = simulate.in_memory_fast(runs)(trained)
    state = states(table.assign(delta=table["delta_mAP50-95"]), design)
    assert state["c000"] == state["c001"] == "open"  # the two real effects (8 paired SDs)
    assert (state.drop(["c000", "c001"]) == "closed").sum() >= 15
    second = next_round(grid, table, trained, design)
    open_groups = set(state.index[state == "open"])
    assert {h.rsplit("-", 1)[0] for h in second} == open_groups | {"base"} and all(h.endswith("-s2") for h in second)


def test_a_config_whose_raw_p_is_below_alpha_is_never_closed() -> None:
    table = pd.DataFrame(
        {
            "group_hash": ["a", "b"],
            "verdict": ["no evidence"] * 2,
            "pairs": [3, 3],
            "delta": [0.001, 0.0],
            "delta_sd": [0.0001, 0.05],
            "p_value": [0.01, 1.0],
        }
    )
    assert states(table, Design(start=2, max_seeds=4)).to_dict() == {"a": "open", "b": "closed"}


def test_the_budget_caps_the_runs_and_design_errors_are_one_sentence() -> None:
    grid, _ = grid_and_runs(6, 5, 0)
    first = next_round(grid, pd.DataFrame(), set(), Design(start=2, max_seeds=5, budget=7))
    assert len(first) == 6  # base + 2 configs at 2 seeds; a third config would need 2 more
    with pytest.raises(AdaptiveError, match=r"adaptive.start=6 must lie between 1 and the 5 seeds given"):
        Design(start=6, max_seeds=5).check()
    with pytest.raises(AdaptiveError, match=r"need at least 2 seeds on the command line"):
        Design(start=1, max_seeds=1).check()


def entries_of(runs: pd.DataFrame) -> list[GridEntry]:
    return [
        GridEntry(
            r["name"],
            "yolov5n",
            r["attention"],
            r["placement"],
            OmegaConf.create({"seed": int(r["seed"])}),
            config_hash=r["config_hash"],
            group_hash=r["group_hash"],
            baseline_hash=r["baseline_hash"],
        )
        for r in runs.to_dict("records")
    ]


def test_sweep_rounds_train_in_rounds_skip_finished_and_state_the_runs_saved(
    store_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, runs = grid_and_runs(6, 4, 1, seed=2)
    store = Store(store_uri, "adaptive-sweep")
    done = set(runs.loc[runs["seed"] == 0, "config_hash"])  # seed 0 FINISHED in an earlier sweep
    simulate.log_grid(store_uri, "adaptive-sweep", runs[runs["config_hash"].isin(done)])
    config = OmegaConf.create(
        {
            "adaptive": {"enabled": True, "start": 2, "step": 1, "budget": None},
            "verdict": {"correction": "holm", "alpha": 0.05},
        }
    )
    entries = entries_of(runs)
    grid = Triage([e for e in entries if e.config_hash in done], [], [e for e in entries if e.config_hash not in done])
    launched: list[list[str]] = []
    for batch in rounds(config, entries, grid, store):
        hashes = [e.config_hash for e in batch]
        assert not set(hashes) & done
        launched.append(hashes)
        simulate.log_grid(store_uri, "adaptive-sweep", runs[runs["config_hash"].isin(hashes)])
    assert sorted(launched[0]) == sorted(f"{g}-s1" for g in ("base", "c000", "c001", "c002", "c003", "c004", "c005"))
    later = [h for batch in launched[1:] for h in batch]
    assert "c000-s3" in later and len(later) < 2 * 7  # the effect reaches 4 seeds, not every config does
    printed = capsys.readouterr().out
    used = len(done) + sum(map(len, launched))
    assert (
        f"{used} runs ({used - 7} trained now, 7 already FINISHED) instead of 28 for the fixed design; {28 - used} runs saved"
        in printed
    )
    table = summarise(store_uri, "adaptive-sweep").configs.set_index("group_hash")
    assert table.loc["c000", "verdict"] == "better" and table.loc["c000", "pairs"] == 4
