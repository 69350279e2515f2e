"""COCO-style box AP, written to agree with pycocotools' ``COCOeval`` (bbox, area "all",
100 detections per image and class), on any multiset of the validation images.

Matching is done once per image (it does not depend on which other images are in the set):
per class, detections sorted by score (stable), the 100 best kept, each matched greedily to the
unmatched ground truth box of highest IoU >= the threshold (crowd boxes: IoU over the
detection's area, matchable again, their detections ignored). ``Matched.average_precision`` then
takes a list of image positions (repeats allowed: a bootstrap resample), concatenates the
detections in that order, sorts them by score (stable), and integrates the 101-point
interpolated precision as ``COCOeval.accumulate`` does; classes without ground truth in the set
are left out of the mean. ``Matched.average_precisions`` gives the same numbers, bit for bit, for
many resamples at once (the bootstrap's), without concatenating and sorting every detection of
every resample: only the true positives and the detections tied in score with one are ordered
per resample; every other false positive enters as a count (how many rank above each of them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

IOU_50 = (0.5,)
IOU_50_95 = tuple(np.linspace(0.5, 0.95, 10))
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETS = 100


@dataclass
class ClassMatches:
    """One class's detections, grouped by image position (rows ``start[i] : start[i] + count[i]``)."""

    score: np.ndarray  # (n,)
    matched: np.ndarray  # (T, n) bool
    ignored: np.ndarray  # (T, n) bool
    start: np.ndarray  # (images,)
    count: np.ndarray  # (images,)
    truths: np.ndarray  # (images,) ground-truth boxes that count (not crowd)


@dataclass
class Matched:
    image_ids: list[int]
    classes: dict[int, ClassMatches]

    def average_precision(self, images: np.ndarray | None = None) -> float:
        """AP over the thresholds it was matched at, on the images at these positions (default:
        every image once, as pycocotools evaluates the whole set); NaN without ground truth."""
        images = np.arange(len(self.image_ids)) if images is None else np.asarray(images)
        values = [v for v in (_class_ap(c, images) for c in self.classes.values()) if v is not None]
        return float(np.mean(values)) if values else float("nan")

    def average_precisions(self, draws: np.ndarray) -> np.ndarray:
        """``average_precision(row)`` for every row of ``draws`` (resamples x image positions),
        identical to it bit for bit, computed for all rows together."""
        draws = np.asarray(draws, dtype=np.int64).reshape(len(draws), -1)
        per_class = np.full((len(draws), len(self.classes)), np.nan)
        # a chunk of resamples at a time: its copies of the ordered detections stay a few million
        rows = max(1, sum(int(_ordered_rows(c).sum()) for c in self.classes.values()))
        step = max(1, min(len(draws), 4_000_000 // rows))
        for lo in range(0, len(draws), step):
            chunk = draws[lo : lo + step]
            for k, c in enumerate(self.classes.values()):
                per_class[lo : lo + step, k] = _class_aps(c, chunk)
        out = np.empty(len(draws))
        for b, row in enumerate(per_class):
            values = row[~np.isnan(row)]
            out[b] = float(np.mean(values)) if len(values) else float("nan")
        return out


def match(truth: dict[str, Any], detections: Sequence[dict[str, Any]], thresholds: Sequence[float] = IOU_50) -> Matched:
    """Match COCO results (``image_id, category_id, bbox`` xywh, ``score``) against a COCO
    ground-truth dict (``images``, ``annotations``, ``categories``) at each IoU threshold."""
    image_ids = sorted(int(i["id"]) for i in truth["images"])
    position = {image: p for p, image in enumerate(image_ids)}
    truths: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for ann in truth["annotations"]:
        truths[int(ann["image_id"]), int(ann["category_id"])].append(ann)
    found: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for det in detections:
        if int(det["image_id"]) in position:
            found[int(det["image_id"]), int(det["category_id"])].append(det)
    classes = sorted({int(c["id"]) for c in truth.get("categories", [])} | {c for _, c in truths})
    return Matched(image_ids, {c: _match_class(c, image_ids, truths, found, thresholds) for c in classes})


def _match_class(
    category: int,
    image_ids: list[int],
    truths: dict[tuple[int, int], list[dict[str, Any]]],
    found: dict[tuple[int, int], list[dict[str, Any]]],
    thresholds: Sequence[float],
) -> ClassMatches:
    scores, matched, ignored, count, counted = [], [], [], [], []
    for image in image_ids:
        gts = truths.get((image, category), [])
        dets = found.get((image, category), [])
        order = np.argsort([-float(d["score"]) for d in dets], kind="mergesort")[:MAX_DETS]
        dets = [dets[i] for i in order]
        m, ig = _match_image(gts, dets, thresholds)
        scores.extend(float(d["score"]) for d in dets)
        matched.append(m)
        ignored.append(ig)
        count.append(len(dets))
        counted.append(sum(not g.get("iscrowd", 0) for g in gts))
    count_arr = np.asarray(count, dtype=np.int64)
    return ClassMatches(
        np.asarray(scores, dtype=float),
        np.concatenate(matched, axis=1),
        np.concatenate(ignored, axis=1),
        np.cumsum(count_arr) - count_arr,
        count_arr,
        np.asarray(counted, dtype=np.int64),
    )


def _match_image(
    gts: list[dict[str, Any]], dets: list[dict[str, Any]], thresholds: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching of score-sorted ``dets`` → (matched, ignored), each (T, len(dets))."""
    crowd = np.array([bool(g.get("iscrowd", 0)) for g in gts], dtype=bool)
    gt_order = np.argsort(crowd, kind="mergesort")  # crowd (ignored) boxes last
    crowd = crowd[gt_order]
    ious = box_iou(
        np.array([d["bbox"] for d in dets], dtype=float).reshape(-1, 4),
        np.array([gts[i]["bbox"] for i in gt_order], dtype=float).reshape(-1, 4),
        crowd,
    )
    matched = np.zeros((len(thresholds), len(dets)), dtype=bool)
    ignored = np.zeros_like(matched)
    for t, threshold in enumerate(thresholds):
        taken = np.zeros(len(gts), dtype=bool)
        for d in range(len(dets)):
            best, limit = -1, min(threshold, 1 - 1e-10)
            for g in range(len(gts)):
                if taken[g] and not crowd[g]:
                    continue
                if best > -1 and not crowd[best] and crowd[g]:
                    break  # a real match beats any crowd box
                if ious[d, g] < limit:
                    continue
                best, limit = g, ious[d, g]
            if best > -1:
                taken[best] = matched[t, d] = True
                ignored[t, d] = crowd[best]
    return matched, ignored


def box_iou(dets: np.ndarray, gts: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of xywh boxes, (len(dets), len(gts)); against a crowd box: intersection / detection area."""
    if not len(dets) or not len(gts):
        return np.zeros((len(dets), len(gts)))
    d0, g0 = dets[:, None, :2], gts[None, :, :2]
    d1, g1 = d0 + dets[:, None, 2:], g0 + gts[None, :, 2:]
    wh = np.clip(np.minimum(d1, g1) - np.maximum(d0, g0), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    det_area = (dets[:, 2] * dets[:, 3])[:, None]
    union = np.where(crowd[None, :], det_area, det_area + (gts[:, 2] * gts[:, 3])[None, :] - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _class_ap(c: ClassMatches, images: np.ndarray) -> float | None:
    truths = int(c.truths[images].sum())
    if truths == 0:
        return None
    counts = c.count[images]
    total = int(counts.sum())
    if total == 0:
        return 0.0
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = np.repeat(c.start[images], counts) + offsets
    rows = rows[np.argsort(-c.score[rows], kind="mergesort")]
    matched, ignored = c.matched[:, rows], c.ignored[:, rows]
    tp = np.cumsum(matched & ~ignored, axis=1, dtype=float)
    fp = np.cumsum(~matched & ~ignored, axis=1, dtype=float)
    recall = tp / truths
    precision = np.maximum.accumulate((tp / (fp + tp + np.spacing(1)))[:, ::-1], axis=1)[:, ::-1]
    per_threshold = []
    for r, p in zip(recall, precision):
        at = np.searchsorted(r, RECALL_POINTS, side="left")
        per_threshold.append(np.where(at < len(p), p[np.minimum(at, len(p) - 1)], 0.0).mean())
    return float(np.mean(per_threshold))


def _ordered_rows(c: ClassMatches) -> np.ndarray:
    """The detections a resample must order: each true positive (at any threshold) and each
    detection with the score of one. Every other one is a false positive (or ignored) at every
    threshold whose score differs from every true positive's, so only how many of them score
    above a true positive matters, not where they are."""
    positive = (c.matched & ~c.ignored).any(axis=0)
    return positive | np.isin(c.score, c.score[positive])


def _class_aps(c: ClassMatches, draws: np.ndarray) -> np.ndarray:
    """``_class_ap(c, row)`` for every row of ``draws``; NaN where it is None (no ground truth).

    In a resample, detections are ordered by score, then by draw position, then by their order in
    the image (``_class_ap``'s stable sort of the concatenation). Only the true positives set the
    AP: the precision envelope at a recall point is the largest precision at a true positive from
    there on, and that precision is (true positives so far) / (those + false positives so far)."""
    n, images = draws.shape[1], len(c.count)
    truths = c.truths[draws].sum(axis=1)
    total = c.count[draws].sum(axis=1)
    out = np.where(truths > 0, 0.0, np.nan)
    live = np.flatnonzero((truths > 0) & (total > 0))
    if not len(live):
        return out
    draws, truths = draws[live], truths[live]
    resamples = len(live)
    image_of = np.repeat(np.arange(images), c.count)
    ordered = _ordered_rows(c)
    rows = np.flatnonzero(ordered)  # in image order, then the image's own order
    # copies of the ordered rows, resample by resample, draw by draw (repeats allowed)
    per_image = np.bincount(image_of[rows], minlength=images)
    first = np.cumsum(per_image) - per_image
    flat = draws.ravel()
    counts = per_image[flat]
    copies = int(counts.sum())
    local = np.repeat(first[flat], counts) + np.arange(copies) - np.repeat(np.cumsum(counts) - counts, counts)
    copy_row = rows[local]
    copy_resample = np.repeat(np.repeat(np.arange(resamples), n), counts)
    _, rank = np.unique(-c.score[rows], return_inverse=True)  # 0 = highest score
    order = np.argsort(copy_resample * (int(rank.max(initial=0)) + 1) + rank[local], kind="stable")
    copy_row, copy_resample, local = copy_row[order], copy_resample[order], local[order]
    starts = np.searchsorted(copy_resample, np.arange(resamples))
    weights = np.zeros((resamples, images))
    np.add.at(weights, (np.repeat(np.arange(resamples), n), flat), 1.0)
    # the other detections: how many false positives rank above each ordered row, by image
    others = np.flatnonzero(~ordered)
    levels = np.unique(c.score[rows])  # ascending
    level_of_row = np.searchsorted(levels, c.score[rows])
    bins = np.searchsorted(levels, c.score[others], side="left")  # levels strictly below
    per_threshold = np.empty((resamples, len(c.matched)))
    for t, (matched, ignored) in enumerate(zip(c.matched, c.ignored)):
        positive, negative = matched & ~ignored, ~matched & ~ignored
        counted = negative[others]
        histogram = np.zeros((images, len(levels) + 1))
        np.add.at(histogram, (image_of[others][counted], bins[counted]), 1.0)
        above = np.cumsum(histogram[:, ::-1], axis=1)[:, ::-1]  # [:, m]: bins >= m
        outside = weights @ above[:, 1:]  # (resamples, levels): false positives scoring above each level
        is_positive, is_negative = positive[copy_row], negative[copy_row]
        tp = _segment_cumsum(is_positive, starts)
        fp_before = _segment_cumsum(is_negative, starts)
        pick = np.flatnonzero(is_positive)
        tp_at, resample_at = tp[pick].astype(float), copy_resample[pick]
        fp_at = fp_before[pick] + outside[resample_at, level_of_row[local[pick]]]
        precision = tp_at / (fp_at + tp_at + np.spacing(1))
        found = np.bincount(resample_at, minlength=resamples)
        envelope = np.zeros((resamples, int(found.max(initial=0)) + 1))
        envelope[resample_at, tp[pick] - 1] = precision
        envelope = np.maximum.accumulate(envelope[:, ::-1], axis=1)[:, ::-1]
        needed = _positives_needed(truths)  # (resamples, recall points): the m-th true positive
        reached = needed <= found[:, None]
        value = envelope[np.arange(resamples)[:, None], np.clip(needed - 1, 0, envelope.shape[1] - 1)]
        per_threshold[:, t] = np.where(reached, value, 0.0).mean(axis=1)
    out[live] = per_threshold.mean(axis=1)
    return out


def _segment_cumsum(flags: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Inclusive running count of ``flags`` within each segment (segments begin at ``starts``)."""
    running = np.cumsum(flags, dtype=np.int64)
    before = np.concatenate([[0], running])[starts]  # the count before each segment
    lengths = np.diff(np.concatenate([starts, [len(flags)]]))
    return running - np.repeat(before, lengths)


def _positives_needed(truths: np.ndarray) -> np.ndarray:
    """For each recall point, the smallest m with m / truths >= point, compared as ``_class_ap``
    compares (float recall against ``RECALL_POINTS``); 0 for the point 0."""
    truths = truths[:, None]
    guess = np.ceil(RECALL_POINTS[None, :] * truths).astype(np.int64)
    needed = guess + 1
    for candidate in (guess + 1, guess, guess - 1):
        ok = (candidate >= 0) & (candidate.astype(float) / truths >= RECALL_POINTS[None, :])
        needed = np.where(ok, candidate, needed)
    return needed
