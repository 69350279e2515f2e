"""The ONNX check of planned models (``conf/onnx``): each distinct model, untrained, built by its
engine as deployment exports it (fused, eval), exported and run in ONNX Runtime against PyTorch
(``ablation.deploy.onnx_export``), in child processes that may die (``ablation.deploy.guarded``),
or, given a ``runner``, where it runs them (the sweep's waiting training child).

A model that does not export is a warning on its plan row (``onnx``); with ``onnx.require=true``
it is the row's error, and the config is refused like one that fails its preflight.
"""

from __future__ import annotations

from typing import Any

from ablation.deploy.guarded import Crashed, Runner, run_guarded
from ablation.deploy.settings import OnnxSettings
from ablation.plan.preflight.pool import IN_PROCESS_BELOW

OK, OFF = "ok", "off"  # a plan row's ``onnx``: passed, not checked; anything else is the failure


def check_item(item: tuple[str, int | None, str | None, int, int]) -> tuple[float | None, str]:
    """(largest relative difference, error) of one ``(yaml, classes, engine, imgsz, opset)``."""
    from ablation.deploy.onnx_export import check_onnx
    from ablation.engines import engine
    from ablation.plan.preflight.check import describe_failure

    yaml, nc, engine_name, imgsz, opset = item
    try:
        model = engine(engine_name).inference_model(yaml, nc)
    except Exception as err:
        return None, describe_failure(err, "building the model for export")
    result = check_onnx(model, imgsz, opset)
    return result.max_rel_diff, result.error


def check_many(
    items: list[tuple[str, int | None, str | None]],
    settings: OnnxSettings,
    workers: int = 2,
    runner: Runner | None = None,
) -> list[tuple[float | None, str]]:
    """``check_item`` of each ``(yaml, classes, engine)``, in order: (difference, "") when ONNX
    Runtime's outputs are within ``settings.tolerance`` of PyTorch's, else (difference or None, why).
    A few items go to ``runner`` when given, else to one guarded child."""
    checks = [(*item, settings.imgsz, settings.opset) for item in items]
    if runner is not None and len(items) < IN_PROCESS_BELOW:
        results = runner(check_item, checks)
    else:
        workers = workers if len(items) >= IN_PROCESS_BELOW else 1  # a worker's imports cost more than a few checks
        results = run_guarded(check_item, checks, workers)
    out: list[tuple[float | None, str]] = []
    for result in results:
        if isinstance(result, Crashed):
            out.append((None, f"exporting or running the export: {result.sentence()} (not a Python error)"))
            continue
        diff, error = result
        if not error and diff is not None and diff > settings.tolerance:
            error = (
                f"ONNX Runtime's outputs differ from PyTorch's by up to {diff:.2g} (relative), "
                f"above onnx.tolerance={settings.tolerance:g}"
            )
        out.append((diff, error))
    return out


def outcome(diff: float | None, error: str) -> dict[str, Any]:
    """A plan row's ``onnx`` and ``onnx_max_rel_diff``."""
    return {"onnx": error or OK, "onnx_max_rel_diff": diff}
