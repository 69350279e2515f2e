"""Preflight in worker processes and in this process give the same results, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.preflight import pool
from ablation.plan.surgery import ModelSpec, Placement, apply


def test_workers_equal_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = ModelSpec.load(model_yaml("yolov5n"), YOLOV5)
    yamls = [str(model_yaml("yolov5n"))]
    for attention in ("se", "simam", "eca"):
        yamls.append(
            str(
                apply(base, attention, {}, Placement.from_config({"name": "neck"})).spec.write(
                    tmp_path / f"{attention}.yaml"
                )
            )
        )
    items = [(yamls[i % len(yamls)], 2 + i % 3) for i in range(pool.IN_PROCESS_BELOW)]
    options = {"imgsz": 64, "gflops_imgsz": 128, "step": False}
    in_workers = pool.preflight_many(items, workers=2, **options)
    monkeypatch.setattr(pool, "IN_PROCESS_BELOW", len(items) + 1)
    here = pool.preflight_many(items, workers=2, **options)
    assert [(r.yaml, r.params, r.gflops, r.error) for r in in_workers] == [
        (r.yaml, r.params, r.gflops, r.error) for r in here
    ]
    assert [r.yaml for r in here] == [y for y, _ in items]
    # 4 models x 3 class counts; SimAM has no parameters, so it shares the base model's three counts
    assert len({r.params for r in here}) == 9
