"""Our COCO-style AP equals pycocotools' COCOeval, on whole sets and on bootstrap resamples."""

from __future__ import annotations

import numpy as np
import pytest

from ablation.report.bootstrap import paired_bootstrap
from ablation.report.cocoap import IOU_50, IOU_50_95, match
from tests.report.coco_sets import coco_set, crowded_set, pycocotools_ap, resampled


@pytest.mark.parametrize("seed", range(8))
def test_ap_equals_pycocotools(seed: int) -> None:
    truth, dets = coco_set(seed)
    ap, ap50 = pycocotools_ap(truth, dets)
    assert match(truth, dets, IOU_50).average_precision() == pytest.approx(ap50, abs=1e-9)
    assert match(truth, dets, IOU_50_95).average_precision() == pytest.approx(ap, abs=1e-9)


def test_ap_of_a_resample_equals_pycocotools_on_the_resampled_set() -> None:
    truth, dets = coco_set(11)
    matched = match(truth, dets, IOU_50)
    rng = np.random.default_rng(5)
    for _ in range(3):
        positions = rng.integers(0, len(truth["images"]), len(truth["images"]))
        _, ap50 = pycocotools_ap(*resampled(truth, dets, positions))
        assert matched.average_precision(positions) == pytest.approx(ap50, abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_ap_of_resamples_at_every_iou_with_over_100_detections_per_image_and_class(seed: int) -> None:
    truth, dets = crowded_set(seed)
    per_image_class: dict[tuple[int, int], int] = {}
    for d in dets:
        per_image_class[d["image_id"], d["category_id"]] = per_image_class.get((d["image_id"], d["category_id"]), 0) + 1
    assert max(per_image_class.values()) > 100  # the cap matters on this set
    at_50_95, at_50 = match(truth, dets, IOU_50_95), match(truth, dets, IOU_50)
    ap, ap50 = pycocotools_ap(truth, dets)
    assert (at_50_95.average_precision(), at_50.average_precision()) == pytest.approx((ap, ap50), abs=1e-9)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        positions = rng.integers(0, len(truth["images"]), len(truth["images"]))
        ap, ap50 = pycocotools_ap(*resampled(truth, dets, positions))
        assert at_50_95.average_precision(positions) == pytest.approx(ap, abs=1e-9)
        assert at_50.average_precision(positions) == pytest.approx(ap50, abs=1e-9)


def test_perfect_detections_score_one_and_none_score_zero() -> None:
    truth, _ = coco_set(3, miss=0.0)
    perfect = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9}
        for a in truth["annotations"]
    ]
    assert match(truth, perfect, IOU_50_95).average_precision() == pytest.approx(1.0)
    assert match(truth, [], IOU_50).average_precision() == 0.0


def test_paired_bootstrap_is_reproducible_and_brackets_the_difference() -> None:
    truth, good = coco_set(4, images=30, noise=0.5, miss=0.0)
    _, poor = coco_set(5, images=30, noise=4.0, miss=0.5)  # boxes of another set: mostly wrong
    first = paired_bootstrap(truth, good, poor, IOU_50, resamples=200, seed=1)
    again = paired_bootstrap(truth, good, poor, IOU_50, resamples=200, seed=1)
    assert first == again
    assert first.delta == pytest.approx(pycocotools_ap(truth, good)[1] - pycocotools_ap(truth, poor)[1], abs=1e-9)
    assert 0 < first.lo < first.delta < first.hi
    same = paired_bootstrap(truth, good, good, IOU_50, resamples=50)
    assert (same.delta, same.lo, same.hi) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("seed", range(6))
def test_many_resamples_at_once_equal_one_at_a_time_bit_for_bit(seed: int) -> None:
    # ties (scores rounded to 2 digits), crowd boxes, a class without boxes, over 100 detections per
    # image and class, images drawn twice and not at all; the whole set and single-image resamples
    truth, dets = coco_set(seed) if seed % 2 else crowded_set(seed)
    rng = np.random.default_rng(seed)
    n = len(truth["images"])
    draws = np.stack([rng.integers(0, n, n) for _ in range(40)] + [np.arange(n), np.zeros(n, int), np.full(n, n - 1)])
    for thresholds in (IOU_50, IOU_50_95):
        matched = match(truth, dets, thresholds)
        expected = np.array([matched.average_precision(d) for d in draws])
        assert np.array_equal(matched.average_precisions(draws), expected, equal_nan=True)
    assert (match(truth, [], IOU_50).average_precisions(np.zeros((2, n), int)) == 0.0).all()


def test_many_resamples_without_ground_truth_are_nan_like_one_at_a_time() -> None:
    truth, dets = coco_set(2)
    truth = {**truth, "annotations": []}
    matched = match(truth, dets, IOU_50)
    draws = np.zeros((3, len(truth["images"])), int)
    assert np.isnan(matched.average_precision(draws[0]))
    assert np.isnan(matched.average_precisions(draws)).all()


def test_the_bootstrap_interval_is_the_one_of_resampling_one_at_a_time() -> None:
    truth, good = coco_set(4, images=30, noise=0.5, miss=0.0)
    _, poor = coco_set(5, images=30, noise=4.0, miss=0.5)
    ours, theirs = match(truth, good, IOU_50_95), match(truth, poor, IOU_50_95)
    rng, n = np.random.default_rng(3), len(truth["images"])
    deltas = []
    for _ in range(100):
        images = rng.integers(0, n, n)
        deltas.append(ours.average_precision(images) - theirs.average_precision(images))
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    interval = paired_bootstrap(truth, good, poor, IOU_50_95, resamples=100, seed=3)
    assert (interval.lo, interval.hi) == (float(lo), float(hi))
    assert interval.delta == ours.average_precision() - theirs.average_precision()
