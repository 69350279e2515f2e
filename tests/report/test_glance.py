"""The report at a glance: the heatmaps' cells are the table's Δ and verdicts, single seeds are
marked, the forest plot is ordered by Δ with the family intervals, and the page shows both."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ablation.report import glance, page
from ablation.report.runs import RUN_COLUMNS
from ablation.report.stats import configs_frame
from ablation.report.summary import Summary
from ablation.report.table import display_frame

SEEDS = (0, 1, 2)
LUCK = (0.30, 0.36, 0.33)  # the baseline's mAP50-95 per seed
# (model, attention, placement, name suffix) → paired Δ per seed; one seed only where one value
DELTAS = {
    ("yolov5n", "se", "neck", ""): (0.030, 0.032, 0.031),  # better even after Holm
    ("yolov5n", "se", "backbone", ""): (0.010, -0.012, 0.004),  # noise
    ("yolov5n", "simam", "neck", ""): (-0.040, -0.041, -0.039),  # worse
    ("yolov5n", "simam", "backbone", ""): (0.020,),  # one seed: never a verdict
    ("yolov5n", "eca", "neck", "-k_size=5"): (0.001, 0.003, -0.002),
    ("yolov5n", "eca", "neck", "-k_size=3"): (0.002, -0.001, 0.0),
    ("yolov5s", "se", "neck", ""): (0.005, -0.004, 0.002),
    ("yolov5s", "cbam", "head", ""): (-0.015,),
}


def run(model: str, attention: str, placement: str, suffix: str, seed: int, value: float) -> dict[str, object]:
    base = attention == "none"
    name = f"{model}-none" if base else f"{model}-{attention}-{placement}{suffix}"
    return {
        "name": name,
        "config_hash": f"{name}-s{seed}",
        "group_hash": name,
        "baseline_hash": f"{model}-none-s{seed}",
        "model": model,
        "attention": attention,
        "placement": "-" if base else placement,
        "seed": seed,
        "error": "",
        "run_id": f"{name}-s{seed}",
        "status": "FINISHED",
        "start_time": pd.Timestamp(0),
        "mAP50-95": value,
        "mAP50": 2 * value,
        "params": 1.77e6,
        "gflops": 4.2,
    }


@pytest.fixture(scope="module")
def configs() -> pd.DataFrame:
    rows = [run(m, "none", "-", "", s, LUCK[s]) for m in ("yolov5n", "yolov5s") for s in SEEDS]
    for (model, attention, placement, suffix), deltas in DELTAS.items():
        rows += [run(model, attention, placement, suffix, s, LUCK[s] + d) for s, d in zip(SEEDS, deltas)]
    runs = pd.DataFrame(rows).reindex(columns=RUN_COLUMNS)
    return configs_frame(runs, "mAP50-95")


def test_every_heatmap_cell_is_the_tables_delta_and_verdict(configs: pd.DataFrame) -> None:
    grids = {g.model: g for g in glance.grids(configs, "mAP50-95")}
    assert set(grids) == {"yolov5n", "yolov5s"}
    small = grids["yolov5n"]
    assert list(small.delta.columns) == ["neck", "backbone"]
    assert list(small.delta.index) == ["eca-k_size=3", "eca-k_size=5", "se", "simam"]
    table = display_frame(configs, "mAP50-95").set_index("config")
    by_name = configs.set_index("name")
    cells = 0
    for g in grids.values():
        for row in g.delta.index:
            for placement in g.delta.columns:
                name = g.names.at[row, placement]
                if not name:
                    assert np.isnan(g.delta.at[row, placement]) and g.verdict.at[row, placement] == ""
                    continue
                cells += 1
                assert g.delta.at[row, placement] == by_name.at[name, "delta_mAP50-95"]  # the very number
                assert g.verdict.at[row, placement] == by_name.at[name, "verdict"]
                shown = table.at[name, "Δ mAP50-95 [CI]"].split()[0]
                assert shown == f"{g.delta.at[row, placement]:+.3f}"  # what the table prints
    assert cells == len(DELTAS)
    assert small.verdict.at["se", "neck"] == "better" and small.verdict.at["simam", "neck"] == "worse"
    assert small.verdict.at["se", "backbone"] == "no evidence"
    assert small.single_seed() == [("simam", "backbone")]
    assert grids["yolov5s"].single_seed() == [("cbam", "head")]


def test_forest_is_every_delta_in_order_with_its_family_interval(configs: pd.DataFrame) -> None:
    frame = glance.forest_frame(configs, "mAP50-95")
    assert len(frame) == len(DELTAS) and frame["delta"].is_monotonic_increasing
    by_name = configs.set_index("name")
    for column in ("family_lo", "family_hi"):
        expected = by_name.loc[frame["name"], column].to_numpy(float)
        np.testing.assert_array_equal(frame[column].to_numpy(float), expected)  # NaN where one seed
    single = frame[frame["verdict"] == "single seed"]
    assert sorted(single["name"]) == ["yolov5n-simam-backbone", "yolov5s-cbam-head"]
    assert single["family_lo"].isna().all()
    decided = frame[frame["verdict"].isin(["better", "worse"])]
    assert ((decided["family_lo"] > 0) | (decided["family_hi"] < 0)).all()  # the verdict and interval agree


def test_the_page_shows_the_heatmaps_and_forest_as_pngs_beside_it(
    configs: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page, "epoch_history", lambda *a, **k: pd.DataFrame())  # no MLflow store here
    summary = Summary("sqlite:///none.db", "glance", "mAP50-95", pd.DataFrame(), configs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a glyph missing from the bundled DejaVu fonts
        glance.heatmaps(configs, "mAP50-95", tmp_path)
        glance.forest(configs, "mAP50-95", tmp_path / "forest.png")
    written = page.write_report(summary, tmp_path)
    text = (tmp_path / "report.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', text)
    assert images[:3] == ["heatmap_yolov5n.png", "heatmap_yolov5s.png", "forest.png"]
    for name in images[:3]:
        assert (tmp_path / name).stat().st_size > 5000 and tmp_path / name in written
    assert "Δ mAP50-95 at a glance: yolov5n" in text and "hatched n=1" in text
