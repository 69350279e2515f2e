"""What is measured on a trained model, after training, in the training child (``conf/evaluate``).

``evaluate_trained`` runs independent parts on best.pt: COCO metrics (``coco``, on the
detections of upstream's own final validation when training collected them, ``final``),
inference latency in PyTorch (``latency``) and of its ONNX export on the CPU in ONNX Runtime
(``latency_ort``) and in OpenVINO (``latency_ov``). A part that fails is recorded as
``coco_error`` / ``<part>_error`` (one sentence; the traceback goes to the training log) and
never loses the training result nor the other parts. Importing this package imports neither torch nor upstream.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ablation.evaluate.settings import STRIDE, Settings
from ablation.track.schema import EVAL_DIR, INSTANCES, PREDICTIONS, Runtime  # job folder's = the run's artifacts

__all__ = ["EVAL_DIR", "STRIDE", "Settings", "evaluate_trained"]

if TYPE_CHECKING:
    from ablation.evaluate.final import Detections

# where the COCO detections came from (``coco_source``)
FINAL_VALIDATION, SECOND_PASS = "upstream final validation", "val.run of best.pt"


def evaluate_trained(
    job: dict[str, Any], best: Path | None, folder: Path, final: Detections | None = None
) -> dict[str, Any]:
    """``result.json`` entries for the enabled parts: ``coco`` + ``eval_files`` + ``coco_source``,
    ``latency`` and one entry per deployed runtime, or ``<part>_error``, and each part's
    ``<part>_seconds``.
    ``job`` is the worker's job (``options``, ``evaluate``); ``final``: the detections of upstream's
    final validation of best.pt, collected during training (without them, a second pass)."""
    try:
        settings = Settings.from_config(job.get("evaluate"))
    except (TypeError, ValueError, AttributeError) as err:
        sentence = f"bad evaluate config {job.get('evaluate')!r}: {err}"
        return {"coco_error": sentence, "latency_error": sentence}
    options = job["options"]
    out: dict[str, Any] = {}
    if settings.coco:
        out.update(
            _guarded(
                "coco", lambda: _coco_part(options, _checkpoint(best), folder / EVAL_DIR, final, job.get("engine"))
            )
        )
    if settings.latency:
        out.update(_guarded("latency", lambda: _latency_part(options, _checkpoint(best), settings, job.get("engine"))))
    for runtime in settings.deployed():
        out.update(
            _guarded(
                runtime.stem,
                lambda r=runtime: _deployed_latency_part(_checkpoint(best), settings, r, job.get("engine")),
            )
        )
    return out


def _coco_part(
    options: dict[str, Any], best: Path, out_dir: Path, final: Detections | None, engine_name: str | None
) -> dict[str, Any]:
    from ablation.data.dataset import describe
    from ablation.engines import engine
    from ablation.evaluate.coco import cached_instances, coco_evaluate, image_ids

    dataset = describe(str(options["data"]), bool(options.get("single_cls", False)))
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"instances": out_dir / INSTANCES, "predictions": out_dir / PREDICTIONS}
    shutil.copyfile(cached_instances(dataset, out_dir), files["instances"])
    instances = json.loads(files["instances"].read_text())
    if final is not None and final.images is not None:
        source = FINAL_VALIDATION
        predictions = final.results(image_ids(instances, dataset.root), dataset.yaml)
    else:
        source = SECOND_PASS
        predictions = engine(engine_name).predict(dataset, best, options, instances, out_dir)
    files["predictions"].write_text(json.dumps(predictions))
    metrics = coco_evaluate(instances, predictions)
    return {"coco": metrics, "coco_source": source, "eval_files": {k: str(v) for k, v in files.items()}}


def _latency_part(options: dict[str, Any], best: Path, settings: Settings, engine_name: str | None) -> dict[str, Any]:
    from ablation.engines import engine
    from ablation.evaluate.latency import measure_latency

    model = engine(engine_name).load_inference_model(best, str(options.get("device", "")))
    measured = measure_latency(model, settings.latency_imgsz, settings.latency_warmup, settings.latency_repeats)
    return {"latency": asdict(measured)}


def _deployed_latency_part(best: Path, settings: Settings, runtime: Runtime, engine_name: str | None) -> dict[str, Any]:
    """best.pt loaded on the CPU in float32, exported to ONNX, timed in ``runtime``."""
    from ablation.engines import engine
    from ablation.evaluate.latency import measure_deployed_latency

    model = engine(engine_name).load_inference_model(best, "cpu")
    measured = measure_deployed_latency(
        model, runtime, settings.latency_imgsz, settings.latency_warmup, settings.latency_repeats
    )
    return {runtime.stem: asdict(measured)}


def _checkpoint(best: Path | None) -> Path:
    if best is None or not Path(best).is_file():
        raise FileNotFoundError(f"training left no best.pt to evaluate ({best})")
    return Path(best)


def _guarded(part: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``measure()`` and its wall and CPU time (``{part}_seconds``, ``{part}_cpu_seconds``), or
    ``{part}_error`` with its traceback printed (to the training log)."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        out = measure()
    except Exception as err:
        print(f"[ablation] {part} evaluation failed:\n{traceback.format_exc()}", file=sys.stderr)
        out = {f"{part}_error": f"{type(err).__name__}: {err}"}
    return {**out, f"{part}_seconds": time.perf_counter() - start, f"{part}_cpu_seconds": time.process_time() - cpu}
