"""``python -m ablation.report`` and ``ablation.export`` (in process) on the synthetic stores;
the single-seed image bootstrap from MLflow artifacts; the page in headless Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ablation.report import command, export
from ablation.track import Store
from ablation.track.schema import EVAL_PREDICTIONS, EVAL_TRUTH
from tests.report.coco_sets import coco_set, pycocotools_ap
from tests.report.conftest import SEEDS, log_run, values

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(seeded_store: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("results")
    assert command.main([f"tracking.uri={seeded_store}", "tracking.experiment=synthetic", f"out={out}"]) == 0
    return out / "report.html", (out / "report.html").read_text()


def test_report_page_shows_table_figures_and_escaped_names(report: tuple[Path, str]) -> None:
    page, text = report
    images = re.findall(r'<img src="([^"]+)"', text)
    assert images == [
        "heatmap_yolov5n.png",
        "forest.png",
        "pareto_gflops.png",
        "pareto_latency.png",
        "by_attention.png",
        "epochs.png",
    ]
    assert all((page.parent / i).stat().st_size > 1000 for i in images)
    assert "yolov5n-&lt;gam&gt;&amp;-neck" in text and "<gam>" not in text
    assert "RuntimeError: &lt;boom&gt; &amp; co" in text  # the failed runs' error, escaped
    assert '<td class="better">better</td>' in text and '<td class="failed">failed</td>' in text
    # the family's verdict: raw / adjusted p-values, the interval's level, power per row and for the table
    assert "<th>p / p adj (holm)</th>" in text and "<th>CI level</th>" in text and "<th>min detectable Δ</th>" in text
    assert "Power: paired seed spread of mAP50-95" in text and "Δ 0.5 points needs" in text
    assert "Holm tests the k-th smallest p at" in text
    assert "<h2>Δ mAP50-95 at a glance: yolov5n</h2>" in text and "hatched n=1" in text


def test_export_rows_per_config_or_per_run(
    seeded_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = [f"tracking.uri={seeded_store}", "tracking.experiment=synthetic"]
    assert export.main([*common, f"out={tmp_path / 'configs.csv'}"]) == 0
    assert "5 configs written" in capsys.readouterr().out
    assert export.main([*common, f"out={tmp_path / 'runs.csv'}", "raw=true"]) == 0
    printed = capsys.readouterr().out
    assert f"{5 * len(SEEDS)} runs written" in printed and "yolov5n-se-neck" in printed and "better" in printed
    configs = pd.read_csv(tmp_path / "configs.csv").set_index("name")
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(configs) == 5 and len(runs) == 15
    assert {"mAP50-95_lo", "mAP50-95_hi", "delta_mAP50-95", "delta_mAP50-95_lo", "verdict", "n"} <= set(configs.columns)
    assert {
        "p_value",
        "p_adjusted",
        "family_lo",
        "family_hi",
        "family_confidence",
        "min_detectable_delta",
        "correction",
    } <= set(configs.columns)
    se = configs.loc["yolov5n-se-neck"]
    assert se["p_value"] < se["p_adjusted"] <= 0.05 and se["family_lo"] > 0 and se["min_detectable_delta"] > 0
    assert "p / p adj (holm)" in printed and "Power: paired seed spread" in printed
    assert configs.loc["yolov5n-<gam>&-neck", "verdict"] == "failed"
    assert {"status", "seed", "delta_mAP50-95", "baseline_run_id"} <= set(runs.columns)
    assert (runs["status"] == "FAILED").sum() == 3


def test_a_wrong_option_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(["nonsense=1"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_one_seed_is_never_a_verdict_and_its_bootstrap_is_labelled(
    store_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth, good = coco_set(4, images=30, noise=0.5, miss=0.0)
    _, poor = coco_set(5, images=30, noise=4.0, miss=0.5)
    store = Store(store_uri, "one-seed")
    log_run(store, "yolov5n-none", "none", 0, values("none", 0), artifacts={EVAL_PREDICTIONS: poor, EVAL_TRUTH: truth})
    log_run(store, "yolov5n-se-neck", "se", 0, values("se", 0), artifacts={EVAL_PREDICTIONS: good, EVAL_TRUTH: truth})
    out = tmp_path / "csv"
    assert (
        export.main(
            [
                f"tracking.uri={store_uri}",
                "tracking.experiment=one-seed",
                f"out={out}",
                "metric=mAP50",
                "bootstrap.resamples=200",
            ]
        )
        == 0
    )
    se = pd.read_csv(out).set_index("name").loc["yolov5n-se-neck"]
    assert se["boot_delta"] == pytest.approx(pycocotools_ap(truth, good)[1] - pycocotools_ap(truth, poor)[1], abs=1e-9)
    # the bootstrap excludes 0, but it covers validation images only: one seed stays "single seed"
    assert 0 < se["boot_lo"] < se["boot_hi"] and se["verdict"] == "single seed"
    assert se["boot_metric"] == "coco/AP50" and pd.isna(se["p_value"])  # recomputed COCO AP50, not upstream's mAP50
    printed = capsys.readouterr().out
    assert "Δ coco/AP50 +" in printed and "better" not in printed and "no paired seed spread yet" in printed


def test_metric_is_checked_against_what_the_runs_logged(
    seeded_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = [f"tracking.uri={seeded_store}", "tracking.experiment=synthetic", f"out={tmp_path / 'x.csv'}"]
    assert export.main([*common, "metric=coco/AP"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "error: metric=coco/AP was not logged by these runs; choose one of: mAP50, mAP50-95."
    )
    assert command.main([*common, "verdict.correction=bonferroni"]) == 2
    assert "verdict.correction=bonferroni is not one of holm, bh, none" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_report_opens_in_headless_chromium(report: tuple[Path, str], tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from report_screenshot import find_browser
    finally:
        sys.path.pop(0)
    if find_browser() is None:
        pytest.skip("no Chromium on PATH (apt-get install -y chromium); scripts/report_screenshot.py needs it")
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "report_screenshot.py"), str(report[0]), str(shot)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    # the six figures (heatmap and forest plot among them) decoded, no console error
    assert "6 images, 0 problems" in done.stdout and shot.stat().st_size > 10_000


def test_export_and_report_print_no_download_progress_bars(store_uri: str, tmp_path: Path) -> None:
    """The real commands, in a child process as a user runs them: the single-seed bootstrap reads
    four artifacts per config, and MLflow would draw a progress bar on stderr for each."""
    truth, good = coco_set(4, images=10, noise=0.5, miss=0.0)
    _, poor = coco_set(5, images=10, noise=4.0, miss=0.5)
    store = Store(store_uri, "quiet")
    log_run(store, "yolov5n-none", "none", 0, values("none", 0), artifacts={EVAL_PREDICTIONS: poor, EVAL_TRUTH: truth})
    log_run(store, "yolov5n-se-neck", "se", 0, values("se", 0), artifacts={EVAL_PREDICTIONS: good, EVAL_TRUTH: truth})
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"}
    common = [f"tracking.uri={store_uri}", "tracking.experiment=quiet", "metric=mAP50", "bootstrap.resamples=20"]
    for module, out in (("ablation.export", tmp_path / "configs.csv"), ("ablation.report", tmp_path / "report")):
        done = subprocess.run(
            [sys.executable, "-m", module, *common, f"out={out}"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "Downloading artifacts" not in done.stderr and "it/s]" not in done.stderr, done.stderr
    se = pd.read_csv(tmp_path / "configs.csv").set_index("name").loc["yolov5n-se-neck"]
    assert se["boot_delta"] > 0  # the artifacts were read
