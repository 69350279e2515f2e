"""Paired bootstrap over validation images: is a config's AP different from its baseline's,
when both were trained once (one seed)?

Each resample draws the validation images with replacement; the config and its baseline are
scored on the same resample, so image difficulty cancels out of the difference. The interval
is the 2.5 and 97.5 percentiles of the resampled differences; the point estimate is the
difference on the whole set.

The two runs are paired image by image only when they were validated on the same set: their
``eval/instances_val.json`` must list the same files (``file_name``) with the same sizes and
labels. Image ids are positions in sorted path order, so a set that changed between the runs
would shift them; the baseline's detections are therefore re-keyed by file name, and runs whose
sets differ are refused. A bootstrap that cannot be made is a ``warning:`` line on stderr with
its reason, and the reason is the interval's ``note`` (the CSV's ``boot_note``).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ablation.config.errors import OptionError, as_number
from ablation.report.cocoap import IOU_50, IOU_50_95, match
from ablation.track import Store
from ablation.track.schema import COCO_AP, COCO_AP50, EVAL_PREDICTIONS, EVAL_TRUTH, MAP50, MAP50_95

# the metric the verdict is about → the IoU thresholds of its COCO counterpart
THRESHOLDS = {MAP50: IOU_50, COCO_AP50: IOU_50, MAP50_95: IOU_50_95, COCO_AP: IOU_50_95}


@dataclass(frozen=True)
class Interval:
    delta: float
    lo: float
    hi: float
    note: str = ""  # how the runs were paired, or why there is no interval (then delta, lo, hi are NaN)


class BootstrapError(OptionError):
    """``bootstrap.resamples`` / ``bootstrap.seed`` that cannot work."""


def check_options(resamples: Any, seed: Any) -> None:
    """One sentence naming the fix for a ``bootstrap.*`` value ``paired_bootstrap`` cannot take."""
    if as_number("bootstrap.resamples", resamples, int, "1000", BootstrapError) < 1:
        raise BootstrapError(f"bootstrap.resamples={resamples} must be at least 1; e.g. bootstrap.resamples=1000.")
    if as_number("bootstrap.seed", seed, int, "0", BootstrapError) < 0:
        raise BootstrapError(
            f"bootstrap.seed={seed} must be 0 or more (numpy takes no negative seed); e.g. bootstrap.seed=0."
        )


class PairingError(ValueError):
    """Two runs' predictions cannot be paired image by image."""


def paired_bootstrap(
    truth: dict[str, Any],
    config: Sequence[dict[str, Any]],
    baseline: Sequence[dict[str, Any]],
    thresholds: Sequence[float] = IOU_50,
    resamples: int = 1000,
    seed: int = 0,
) -> Interval:
    """AP(config) - AP(baseline) on the whole set, with the percentile interval over
    ``resamples`` image resamples (a fixed ``seed``: the same answer every time)."""
    ours, theirs = match(truth, config, thresholds), match(truth, baseline, thresholds)
    n = len(ours.image_ids)
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.integers(0, n, n) for _ in range(resamples)])  # n draws per resample
    deltas = ours.average_precisions(draws) - theirs.average_precisions(draws)
    deltas = deltas[np.isfinite(deltas)]
    lo, hi = np.percentile(deltas, [2.5, 97.5]) if len(deltas) else (np.nan, np.nan)
    return Interval(ours.average_precision() - theirs.average_precision(), float(lo), float(hi))


def run_bootstrap(
    store: Store,
    run_id: str,
    baseline_run_id: str,
    metric: str,
    resamples: int = 1000,
    seed: int = 0,
    label: str = "",
) -> Interval | None:
    """``paired_bootstrap`` of two MLflow runs from their ``eval/`` artifacts, the baseline's
    detections paired by file name (``pair_by_file_name``); None when ``metric`` has no COCO
    counterpart. When the artifacts are missing or unreadable, or the validation sets differ, a
    ``warning:`` line naming ``label`` (default: the run id) and the reason goes to stderr and
    the interval is NaN with the reason as its ``note``."""
    if metric not in THRESHOLDS:
        return None
    try:
        truth = _artifact(store, run_id, EVAL_TRUTH, "this run")
        config = _artifact(store, run_id, EVAL_PREDICTIONS, "this run")
        baseline = _artifact(store, baseline_run_id, EVAL_PREDICTIONS, "its baseline")
        baseline_truth = _artifact(store, baseline_run_id, EVAL_TRUTH, "its baseline")
        baseline, note = pair_by_file_name(truth, baseline_truth, baseline)
        interval = paired_bootstrap(truth, config, baseline, THRESHOLDS[metric], resamples, seed)
    except Exception as err:
        reason = str(err) if isinstance(err, (PairingError, FileNotFoundError)) else f"{type(err).__name__}: {err}"
        print(f"warning: no image bootstrap for {label or run_id}: {reason}", file=sys.stderr)
        return Interval(np.nan, np.nan, np.nan, reason)
    if note:
        print(f"warning: image bootstrap for {label or run_id}: {note}", file=sys.stderr)
    return Interval(interval.delta, interval.lo, interval.hi, note)


def pair_by_file_name(
    truth: dict[str, Any], baseline_truth: dict[str, Any], baseline: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str]:
    """The baseline's detections with the image ids of ``truth`` (the config's ground truth), and
    a note ("" when the ids already agree). Raises ``PairingError`` when the two validation sets
    differ: other files, or the same file with another size or other labels."""
    ours, theirs = _images_by_name(truth), _images_by_name(baseline_truth)
    if ours is None or theirs is None:
        if _content(truth) != _content(baseline_truth):
            raise PairingError(
                "the two runs were validated on different sets (their instances have no file names to pair them by)"
            )
        return list(baseline), ""
    only_ours, only_theirs = sorted(ours.keys() - theirs.keys()), sorted(theirs.keys() - ours.keys())
    if only_ours or only_theirs:
        first = (only_ours or only_theirs)[0]
        raise PairingError(
            f"the two runs were validated on different sets: {len(only_ours)} image(s) only in this run's, "
            f"{len(only_theirs)} only in its baseline's (first: {first}); retrain one of them on the same set"
        )
    ours_labels, theirs_labels = _labels_by_id(truth), _labels_by_id(baseline_truth)
    changed = sorted(
        name
        for name, image in ours.items()
        if _size(image) != _size(theirs[name]) or ours_labels[image["id"]] != theirs_labels[theirs[name]["id"]]
    )
    if changed:
        raise PairingError(
            f"the two runs were validated on different labels: {len(changed)} image(s) differ in size or boxes "
            f"(first: {changed[0]}); retrain one of them on the same set"
        )
    new_id = {int(theirs[name]["id"]): int(image["id"]) for name, image in ours.items()}
    if all(old == new for old, new in new_id.items()):
        return list(baseline), ""
    return [{**d, "image_id": new_id[int(d["image_id"])]} for d in baseline if int(d["image_id"]) in new_id], (
        "paired by file name (the runs numbered the same validation images differently)"
    )


def _images_by_name(truth: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    names = [image.get("file_name") for image in truth["images"]]
    if not names or any(not n for n in names) or len(set(names)) < len(names):
        return None
    return {str(image["file_name"]): image for image in truth["images"]}


def _size(image: dict[str, Any]) -> tuple[Any, Any]:
    return image.get("width"), image.get("height")


def _labels_by_id(truth: dict[str, Any]) -> dict[int, Counter]:
    labels: dict[int, Counter] = {int(i["id"]): Counter() for i in truth["images"]}
    for ann in truth["annotations"]:
        box = tuple(round(float(v), 6) for v in ann["bbox"])
        labels.setdefault(int(ann["image_id"]), Counter())[
            int(ann["category_id"]), box, int(ann.get("iscrowd", 0))
        ] += 1
    return labels


def _content(truth: dict[str, Any]) -> tuple[Any, ...]:
    return sorted((int(i["id"]), _size(i)) for i in truth["images"]), _labels_by_id(truth)


def _artifact(store: Store, run_id: str, path: str, whose: str) -> Any:
    """A JSON artifact of the run; FileNotFoundError naming ``whose`` run lacks it."""
    try:
        return json.loads(store.read_artifact(run_id, path))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{whose} ({run_id}) has no {path} (evaluation was off, failed, or the run predates it)"
        ) from None
