"""The single-seed image bootstrap pairs the two runs image by image only on the same validation
set (by file name), and says why when it cannot be made."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from ablation.report.bootstrap import paired_bootstrap
from ablation.report.cocoap import IOU_50
from ablation.report.summary import summarise
from ablation.track import Store
from ablation.track.schema import EVAL_PREDICTIONS, EVAL_TRUTH
from tests.report.coco_sets import coco_set
from tests.report.conftest import log_run, values


def named(truth: dict) -> dict:
    """``truth`` with a file name per image, as ``eval/instances_val.json`` has them."""
    named = copy.deepcopy(truth)
    for image in named["images"]:
        image["file_name"] = f"images/val/{image['id']:04d}.png"
    return named


@pytest.fixture(scope="module")
def sets() -> tuple[dict, list, list]:
    truth, good = coco_set(4, images=30, noise=0.5, miss=0.0)
    _, poor = coco_set(5, images=30, noise=4.0, miss=0.5)
    return named(truth), good, poor


def se_row(store_uri: str, experiment: str, base_truth: object, base_predictions: object, truth: dict, good: list):
    store = Store(store_uri, experiment)
    log_run(
        store,
        "yolov5n-none",
        "none",
        0,
        values("none", 0),
        artifacts={EVAL_PREDICTIONS: base_predictions, EVAL_TRUTH: base_truth},
    )
    log_run(store, "yolov5n-se-neck", "se", 0, values("se", 0), artifacts={EVAL_PREDICTIONS: good, EVAL_TRUTH: truth})
    return summarise(store_uri, experiment, "mAP50", resamples=100).configs.set_index("name").loc["yolov5n-se-neck"]


def test_runs_validated_on_different_images_are_refused_with_a_warning(
    store_uri: str, sets: tuple[dict, list, list], capsys: pytest.CaptureFixture[str]
) -> None:
    truth, good, poor = sets
    grown = copy.deepcopy(truth)  # the baseline's set had one more image, so ids shift
    grown["images"].append({"id": 999, "width": 64, "height": 64, "file_name": "images/val/extra.png"})
    row = se_row(store_uri, "pair-grown", grown, poor, truth, good)
    assert np.isnan(row["boot_delta"]) and np.isnan(row["boot_lo"]) and row["verdict"] == "single seed"
    reason = (
        "the two runs were validated on different sets: 0 image(s) only in this run's, 1 only in its "
        "baseline's (first: images/val/extra.png); retrain one of them on the same set"
    )
    assert row["boot_note"] == reason
    assert f"warning: no image bootstrap for yolov5n-se-neck (seed 0): {reason}\n" in capsys.readouterr().err


def test_runs_validated_on_other_labels_are_refused(store_uri: str, sets: tuple[dict, list, list]) -> None:
    truth, good, poor = sets
    relabelled = copy.deepcopy(truth)
    relabelled["annotations"][0]["bbox"] = [1.0, 1.0, 5.0, 5.0]
    row = se_row(store_uri, "pair-relabelled", relabelled, poor, truth, good)
    first = next(i["file_name"] for i in truth["images"] if i["id"] == truth["annotations"][0]["image_id"])
    assert row["boot_note"].startswith(
        f"the two runs were validated on different labels: 1 image(s) differ in size or boxes (first: {first})"
    )
    assert np.isnan(row["boot_lo"])


def test_the_same_images_numbered_differently_are_paired_by_file_name(
    store_uri: str, sets: tuple[dict, list, list], capsys: pytest.CaptureFixture[str]
) -> None:
    truth, good, poor = sets
    renumber = {i["id"]: 1000 - i["id"] for i in truth["images"]}  # reversed order
    theirs = copy.deepcopy(truth)
    for item in theirs["images"]:
        item["id"] = renumber[item["id"]]
    for item in theirs["annotations"]:
        item["image_id"] = renumber[item["image_id"]]
    shifted = [{**d, "image_id": renumber[d["image_id"]]} for d in poor]
    row = se_row(store_uri, "pair-renumbered", theirs, shifted, truth, good)
    expected = paired_bootstrap(truth, good, poor, IOU_50, resamples=100)
    assert (row["boot_delta"], row["boot_lo"], row["boot_hi"]) == pytest.approx(
        (expected.delta, expected.lo, expected.hi)
    )
    assert row["boot_note"] == "paired by file name (the runs numbered the same validation images differently)"
    assert "warning: image bootstrap for yolov5n-se-neck (seed 0): paired by file name" in capsys.readouterr().err


def test_a_failing_bootstrap_is_a_warning_with_its_reason(
    store_uri: str, sets: tuple[dict, list, list], capsys: pytest.CaptureFixture[str]
) -> None:
    truth, good, _ = sets
    row = se_row(store_uri, "pair-broken", truth, [{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}], truth, good)
    assert row["boot_note"] == "KeyError: 'category_id'" and row["verdict"] == "single seed"
    assert (
        "warning: no image bootstrap for yolov5n-se-neck (seed 0): KeyError: 'category_id'\n" in capsys.readouterr().err
    )


def test_missing_predictions_are_a_warning_naming_the_run(store_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(store_uri, "pair-missing")
    base = log_run(store, "yolov5n-none", "none", 0, values("none", 0))
    log_run(
        store,
        "yolov5n-se-neck",
        "se",
        0,
        values("se", 0),
        artifacts={EVAL_PREDICTIONS: [], EVAL_TRUTH: named(coco_set(1)[0])},
    )
    row = summarise(store_uri, "pair-missing", "mAP50", resamples=10).configs.set_index("name").loc["yolov5n-se-neck"]
    reason = f"its baseline ({base}) has no {EVAL_PREDICTIONS} (evaluation was off, failed, or the run predates it)"
    assert row["boot_note"] == reason
    assert f"warning: no image bootstrap for yolov5n-se-neck (seed 0): {reason}\n" in capsys.readouterr().err
