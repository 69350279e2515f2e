"""A small YOLO-format detection set, generated deterministically on first use.

Five shape classes (circle, square, triangle, cross, ring) in random colours and sizes (small
objects of 6-12 px included) on textured backgrounds with distractor clutter (lines, blobs,
arcs that belong to no class). Same seed and sizes → byte-identical images and labels, so a
sweep on it is reproducible anywhere without downloading anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("circle", "square", "triangle", "cross", "ring")
VERSION = 1


@dataclass(frozen=True)
class SyntheticSpec:
    train: int = 320
    val: int = 80
    imgsz: int = 160
    seed: int = 0
    max_objects: int = 5
    min_size: int = 6
    max_size: int = 56

    def key(self) -> str:
        blob = json.dumps({**asdict(self), "version": VERSION}, sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()[:10]


def ensure(root: str | Path, spec: SyntheticSpec = SyntheticSpec()) -> Path:
    """Return ``root/synthetic-<key>/data.yaml``, generating the set once (atomically)."""
    target = Path(root).expanduser().resolve() / f"synthetic-{spec.key()}"
    data_yaml = target / "data.yaml"
    if data_yaml.is_file():
        return data_yaml
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".synthetic-", dir=target.parent))
    try:
        rng = np.random.default_rng(spec.seed)
        for split, count in (("train", spec.train), ("val", spec.val)):
            (tmp / "images" / split).mkdir(parents=True)
            (tmp / "labels" / split).mkdir(parents=True)
            for i in range(count):
                image, labels = draw_image(rng, spec)
                cv2.imwrite(str(tmp / "images" / split / f"{i:05d}.png"), image)
                lines = [f"{c} {x:.6f} {y:.6f} {w:.6f} {h:.6f}" for c, x, y, w, h in labels]
                (tmp / "labels" / split / f"{i:05d}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
        names = "\n".join(f"  {i}: {n}" for i, n in enumerate(CLASSES))
        (tmp / "data.yaml").write_text(
            f"# ablation synthetic shapes, {json.dumps(asdict(spec))}\n"
            f"path: {target}\ntrain: images/train\nval: images/val\nnc: {len(CLASSES)}\nnames:\n{names}\n"
        )
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return data_yaml


def draw_image(rng: np.random.Generator, spec: SyntheticSpec) -> tuple[np.ndarray, list[tuple]]:
    s = spec.imgsz
    image = _background(rng, s)
    _clutter(rng, image)
    labels: list[tuple] = []
    boxes: list[tuple[int, int, int, int]] = []
    for _ in range(int(rng.integers(1, spec.max_objects + 1))):
        size = int(np.exp(rng.uniform(np.log(spec.min_size), np.log(spec.max_size))))
        for _attempt in range(10):
            x0, y0 = (int(v) for v in rng.integers(0, s - size, 2))
            box = (x0, y0, x0 + size, y0 + size)
            if all(_iou(box, b) < 0.1 for b in boxes):
                break
        else:
            continue
        cls = int(rng.integers(len(CLASSES)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if int(np.abs(np.array(colour, dtype=int) - image[y0 : y0 + size, x0 : x0 + size].mean((0, 1))).sum()) < 120:
            colour = tuple(255 - c for c in colour)
        _shape(image, CLASSES[cls], box, colour, rng)
        boxes.append(box)
        labels.append((cls, (x0 + size / 2) / s, (y0 + size / 2) / s, size / s, size / s))
    return image, labels


def _background(rng: np.random.Generator, s: int) -> np.ndarray:
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, s)[None, :, None] if rng.random() < 0.5 else np.linspace(0, 1, s)[:, None, None]
    image = a * (1 - t) + b * t + rng.normal(0, 12, (s, s, 3))
    return np.clip(np.broadcast_to(image, (s, s, 3)), 0, 255).astype(np.uint8).copy()


def _clutter(rng: np.random.Generator, image: np.ndarray) -> None:
    s = image.shape[0]
    for _ in range(int(rng.integers(2, 7))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        p1, p2 = (tuple(int(v) for v in rng.integers(0, s, 2)) for _ in range(2))
        kind = rng.integers(3)
        if kind == 0:
            cv2.line(image, p1, p2, colour, int(rng.integers(1, 3)))
        elif kind == 1:
            a = int(rng.integers(6, 16))
            axes = (a, max(2, a // 3))  # elongated: never mistaken for a circle
            cv2.ellipse(image, p1, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
        else:
            cv2.ellipse(image, p1, (int(rng.integers(6, 20)),) * 2, 0, 0, float(rng.uniform(60, 200)), colour, 1)


def _shape(
    image: np.ndarray, name: str, box: tuple[int, int, int, int], colour: tuple, rng: np.random.Generator
) -> None:
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) // 2, (y0 + y1) // 2, (x1 - x0) // 2
    t = max(1, r // 4)
    if name == "circle":
        cv2.circle(image, (cx, cy), r, colour, -1)
    elif name == "square":
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), colour, -1)
    elif name == "triangle":
        pts = np.array([[cx, y0], [x0, y1 - 1], [x1 - 1, y1 - 1]], dtype=np.int32)
        cv2.fillPoly(image, [pts], colour)
    elif name == "cross":
        cv2.rectangle(image, (cx - t, y0), (cx + t, y1 - 1), colour, -1)
        cv2.rectangle(image, (x0, cy - t), (x1 - 1, cy + t), colour, -1)
    else:  # ring
        cv2.circle(image, (cx, cy), max(r - t // 2, 1), colour, max(t, 1))


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
