"""Each config against the control curve (wider baselines): interpolation, paired Δ, one family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ablation.report import family
from ablation.report.control import interpolate
from ablation.report.export import write_csv
from ablation.report.runs import RUN_COLUMNS
from ablation.report.stats import configs_frame
from ablation.report.summary import Summary
from ablation.report.table import display_frame

SEEDS = (0, 1, 2)
BASE = {0: 0.30, 1: 0.35, 2: 0.40}
# config → (control tag, GFLOPs, mAP50-95 minus the baseline's, per seed)
CONFIGS = {
    "none": ("", 4.0, (0.0, 0.0, 0.0)),
    "width-x1.05": ("width", 4.4, (0.010, 0.012, 0.008)),
    "width-x1.1": ("width", 4.8, (0.030, 0.028, 0.032)),
    "psa": ("", 4.6, (0.026, 0.019, 0.024)),  # the curve at 4.6: halfway between the two controls
    "ema": ("", 4.2, (0.006, 0.004, 0.011)),  # between the baseline and the first control
    "se": ("", 4.0, (0.001, 0.002, 0.003)),  # no GFLOPs added: not compared with the curve
}


def run_frame(missing: tuple[str, int] | None = None) -> pd.DataFrame:
    rows = []
    for name, (control, gflops, deltas) in CONFIGS.items():
        for seed, delta in zip(SEEDS, deltas):
            value = BASE[seed] + delta
            rows.append(
                {
                    "name": f"yolov5n-{name}",
                    "config_hash": f"{name}-s{seed}",
                    "group_hash": name,
                    "baseline_hash": f"none-s{seed}",
                    "model": "yolov5n",
                    "attention": name if not control and name != "none" else "none",
                    "placement": "neck" if not control and name != "none" else "-",
                    "seed": seed,
                    "error": "",
                    "control": control,
                    "run_id": f"r-{name}-{seed}",
                    "status": "FAILED" if missing == (name, seed) else "FINISHED",
                    "start_time": pd.Timestamp(0, tz="UTC"),
                    "mAP50": 2 * value,
                    "mAP50-95": value,
                    "coco/AP": value,
                    "gflops": gflops,
                    "params": 1.8e6,
                }
            )
    return pd.DataFrame(rows).reindex(columns=RUN_COLUMNS)


def test_interpolation_is_linear_between_points_and_extends_the_end_segments() -> None:
    xs, ys = [4.0, 4.4, 4.8], [0.30, 0.31, 0.33]
    assert interpolate(xs, ys, 4.6) == pytest.approx(0.32)
    assert interpolate(xs, ys, 4.2) == pytest.approx(0.305)
    assert interpolate(xs, ys, 4.0) == pytest.approx(0.30)
    assert interpolate(xs, ys, 5.0) == pytest.approx(0.34)  # beyond the widest: the last segment extended
    assert interpolate([4.0, 4.4, 4.4], [0.30, 0.30, 0.32], 4.2) == pytest.approx(0.305)  # one x: averaged
    assert np.isnan(interpolate([4.0], [0.3], 4.2))


def test_the_paired_delta_against_the_control_curve_by_hand() -> None:
    table = configs_frame(run_frame(), "mAP50-95", None, "holm", 0.05).set_index("name")
    psa = table.loc["yolov5n-psa"]
    # per seed: curve at 4.6 = baseline + (0.010+0.030)/2, (0.012+0.028)/2, (0.008+0.032)/2 = baseline + 0.020
    per_seed = np.array([0.026, 0.019, 0.024]) - 0.020
    assert psa["delta_control_mAP50-95"] == pytest.approx(per_seed.mean())
    assert psa["control_mAP50-95"] == pytest.approx(np.mean([BASE[s] for s in SEEDS]) + 0.020)
    assert psa["delta_mAP50-95"] == pytest.approx(np.mean([0.026, 0.019, 0.024]))
    assert psa["p_control"] == pytest.approx(family.paired_t(per_seed)[1])
    ema = table.loc["yolov5n-ema"]  # curve at 4.2: baseline + half of the first control's gain
    ema_seeds = np.array([0.006, 0.004, 0.011]) - np.array([0.005, 0.006, 0.004])
    assert ema["delta_control_mAP50-95"] == pytest.approx(ema_seeds.mean())
    # the wider baselines and the baseline are not compared with the curve
    others = ["yolov5n-none", "yolov5n-width-x1.05", "yolov5n-width-x1.1", "yolov5n-se"]
    assert table.loc[others, "p_control"].isna().all() and table.loc["yolov5n-se", "p_value"] > 0
    assert table.loc["yolov5n-width-x1.1", "verdict"] in ("better", "no evidence")  # compared with the baseline


def test_both_kinds_of_comparison_form_one_holm_family() -> None:
    table = configs_frame(run_frame(), "mAP50-95", None, "holm", 0.05).set_index("name")
    compared = ["yolov5n-width-x1.05", "yolov5n-width-x1.1", "yolov5n-psa", "yolov5n-ema", "yolov5n-se"]
    p = [*table.loc[compared, "p_value"], *table.loc[["yolov5n-psa", "yolov5n-ema"], "p_control"]]
    holm = family.adjust(p, "holm")  # seven comparisons in one family
    assert len(p) == 7
    assert list(table.loc[compared, "p_adjusted"]) == pytest.approx(list(holm[:5]))
    assert list(table.loc[["yolov5n-psa", "yolov5n-ema"], "p_control_adjusted"]) == pytest.approx(list(holm[5:]))
    assert table.loc["yolov5n-psa", "p_control_adjusted"] > table.loc["yolov5n-psa", "p_control"]
    for name in ("yolov5n-psa", "yolov5n-ema"):
        row = table.loc[name]
        decided = row["p_control_adjusted"] <= 0.05
        assert row["verdict_control"] == (
            "no evidence" if not decided else "better" if row["delta_control_mAP50-95"] > 0 else "worse"
        )
        assert ((row["control_lo"] > 0) or (row["control_hi"] < 0)) == decided  # the interval agrees with the verdict
    # without wider baselines the family is the vs-baseline comparisons alone, as before
    plain = configs_frame(run_frame().query("control == ''"), "mAP50-95", None, "holm", 0.05)
    assert "p_control" not in plain and len(plain) == 4


def test_a_seed_missing_a_control_has_no_control_value() -> None:
    table = configs_frame(run_frame(missing=("width-x1.1", 2)), "mAP50-95", None, "holm", 0.05).set_index("name")
    psa = table.loc["yolov5n-psa"]
    assert psa["control_pairs"] == 2 and psa["pairs"] == 3
    assert psa["delta_control_mAP50-95"] == pytest.approx(np.mean([0.026 - 0.020, 0.019 - 0.020]))


def test_the_table_and_csv_show_the_delta_against_the_control(tmp_path: Path) -> None:
    runs = run_frame()
    configs = configs_frame(runs, "mAP50-95", None, "holm", 0.05)
    shown = display_frame(configs).set_index("config")
    assert shown.loc["yolov5n-psa", "Δ vs control [CI]"].startswith("+0.003 [")
    assert shown.loc["yolov5n-psa", "verdict vs control"] in ("no evidence", "better", "worse")
    assert shown.loc["yolov5n-width-x1.1", "Δ vs control [CI]"] == "-"
    assert shown.loc["yolov5n-psa", "p / p adj vs control"].count("/") == 1
    csv = pd.read_csv(write_csv(Summary("", "e", "mAP50-95", runs, configs), tmp_path / "a.csv")).set_index("name")
    assert csv.loc["yolov5n-psa", "delta_control_mAP50-95"] == pytest.approx(0.003)
    assert csv.loc["yolov5n-psa", "control_pairs"] == 3
    assert {"p_control_adjusted", "verdict_control", "control_lo", "control_hi", "control"} <= set(csv.columns)
    assert csv.loc["yolov5n-width-x1.1", "control"] == "width"
