"""The report's figures show every config with its own numbers, and no re-validation as an epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer

from ablation.report import plots
from ablation.report.runs import epoch_history, load_runs
from ablation.track import Store


def config(name: str, attention: str, placement: str, mean: float, half: float | None) -> dict[str, object]:
    lo, hi = (mean - half, mean + half) if half is not None else (np.nan, np.nan)
    verdict = "baseline" if attention == "none" else "no evidence"
    return {
        "name": name,
        "attention": attention,
        "placement": placement,
        "verdict": verdict,
        "mAP50-95": mean,
        "mAP50-95_lo": lo,
        "mAP50-95_hi": hi,
    }


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list:
    """The axes of every figure drawn."""
    axes: list = []
    make = plots._figure

    def capture(*args: float):
        fig, ax = make(*args)
        axes.append(ax)
        return fig, ax

    monkeypatch.setattr(plots, "_figure", capture)
    return axes


def test_every_config_of_a_model_and_kwargs_sweep_is_its_own_bar_with_its_own_interval(
    drawn: list, tmp_path: Path
) -> None:
    # two models and two SE reductions share attention and placement; one config has one seed (no interval)
    configs = pd.DataFrame(
        [
            config("yolov5n-none", "none", "-", 0.30, 0.02),
            config("yolov5s-none", "none", "-", 0.40, 0.02),
            config("yolov5n-se-neck-reduction=8", "se", "neck", 0.31, None),
            config("yolov5n-se-neck-reduction=16", "se", "neck", 0.33, 0.01),
            config("yolov5s-se-neck-reduction=16", "se", "neck", 0.42, 0.03),
            config("yolov5n-se-after_c3", "se", "after_c3", 0.29, 0.04),
            config("yolov5n-simam-neck", "simam", "neck", 0.28, 0.05),
        ]
    )
    assert plots.by_attention(configs, "mAP50-95", tmp_path / "bars.png") == tmp_path / "bars.png"
    (ax,) = drawn
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    heights = sorted(round(p.get_height(), 6) for b in bars for p in b.patches)
    assert heights == [0.28, 0.29, 0.31, 0.33, 0.42]  # every config once, no baseline among the bars
    # each bar's error bar spans exactly that config's interval (a config without one has none)
    spans = {}
    for b, e in zip(bars, (c for c in ax.containers if isinstance(c, ErrorbarContainer))):
        segments = e.lines[2][0].get_segments()
        for patch, segment in zip(b.patches, segments):
            spans[round(patch.get_height(), 6)] = (round(segment[0][1], 6), round(segment[1][1], 6))
    assert spans == {0.28: (0.23, 0.33), 0.29: (0.25, 0.33), 0.31: (0.31, 0.31), 0.33: (0.32, 0.34), 0.42: (0.39, 0.45)}
    names = {t.get_text().strip() for t in ax.texts}
    assert names == {"yolov5n-se-neck-reduction=8", "yolov5n-se-neck-reduction=16", "yolov5s-se-neck-reduction=16"}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["neck", "after_c3", "yolov5n-none", "yolov5s-none"]


def test_an_early_stopped_runs_final_revalidation_is_not_an_epoch(store_uri: str) -> None:
    store = Store(store_uri, "early-stop")
    tags = {"config_hash": "c", "group_hash": "g", "baseline_hash": "c", "attention": "none", "seed": "0"}
    run_id = store.start("yolov5n-none", tags)
    # train.epochs=10, train.patience stopped it after 3 epochs: the re-validation of best.pt is step 3
    for epoch in range(3):
        store.log_metrics(run_id, {"mAP50": 0.1 * (epoch + 1)}, step=epoch)
    store.log_metrics(run_id, {"mAP50": 0.25, "train_seconds": 12.0}, step=3)
    store.log_params(run_id, {"train.epochs": "10"})
    store.end(run_id, "FINISHED")
    history = epoch_history(store_uri, load_runs(store_uri, "early-stop"))
    assert history["epoch"].tolist() == [0, 1, 2]
    assert history["value"].tolist() == pytest.approx([0.1, 0.2, 0.3])
