"""The ONNX check in planning: plan.csv's columns, the warning line, onnx.require and the options."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ablation.config.errors import OptionError
from ablation.deploy.settings import OnnxSettings
from tests.test_plan_command import plan_command

FAST = ["model=yolov5n", "placement=neck", "preflight.enabled=false", "preflight.workers=1", "onnx.imgsz=64"]


def rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "plan.csv").open() as f:
        return {r["name"]: r for r in csv.DictReader(f)}


def test_each_config_gets_its_result_and_a_failure_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan_command([*FAST, "attention=se,criss_cross"], tmp_path) == 0
    plan = rows(tmp_path)
    for name in ("yolov5n-none", "yolov5n-se-neck"):
        assert plan[name]["onnx"] == "ok"
        assert 0 <= float(plan[name]["onnx_max_rel_diff"]) < 1e-4
    failed = plan["yolov5n-criss_cross-neck"]
    assert failed["onnx"].startswith("loading the 64x64 export in ONNX Runtime: op EyeLike") and not failed["error"]
    assert failed["onnx_max_rel_diff"] == ""
    out, err = capsys.readouterr()
    assert (
        "warning: yolov5n-criss_cross-neck does not export to ONNX: loading the 64x64 export in ONNX Runtime: "
        "op EyeLike (node /model/model.18/EyeLike, layer 18 (CrissCrossAttention)) has no ONNX Runtime kernel"
    ) in err.splitlines()
    assert "onnx: 2/3 export and run in ONNX Runtime" in out
    assert "3/3 entries planned" in out


def test_onnx_require_refuses_a_model_that_does_not_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_command([*FAST, "attention=criss_cross", "onnx.require=true"], tmp_path) == 1
    plan = rows(tmp_path)
    assert plan["yolov5n-none"]["error"] == ""
    assert plan["yolov5n-criss_cross-neck"]["error"].startswith(
        "the ONNX check failed (onnx.require=true): loading the 64x64 export in ONNX Runtime: op EyeLike"
    )
    err = capsys.readouterr().err
    assert "FAILED yolov5n-criss_cross-neck: the ONNX check failed (onnx.require=true)" in err
    assert "warning:" not in err  # refused, not warned about


def test_the_ultralytics_engine_exports_through_the_same_check(tmp_path: Path) -> None:
    assert plan_command([*FAST, "model=yolo11n", "attention=se"], tmp_path) == 0
    plan = rows(tmp_path)
    assert set(plan) == {"yolo11n-none", "yolo11n-se-neck"}
    assert all(r["onnx"] == "ok" and 0 <= float(r["onnx_max_rel_diff"]) < 1e-4 for r in plan.values())


def test_onnx_enabled_false_skips_the_check(tmp_path: Path) -> None:
    assert plan_command([*FAST, "attention=se", "onnx.enabled=false"], tmp_path) == 0
    assert {r["onnx"] for r in rows(tmp_path).values()} == {"off"}


@pytest.mark.parametrize(
    ("config", "sentence"),
    [
        ({"enabled": "no"}, r"^onnx\.enabled=no is not true or false; e\.g\. onnx\.enabled=true\.$"),
        (
            {"imgsz": 0},
            r"^onnx\.imgsz=0 must be a positive multiple of the models' stride 32; the nearest is onnx\.imgsz=32\.$",
        ),
        (
            {"opset": 21},
            r"^onnx\.opset=21 is outside the opsets checked here \(17-20\); the nearest is onnx\.opset=20\.$",
        ),
        (
            {"tolerance": 2},
            r"^onnx\.tolerance=2\.0 must be a relative difference between 0 and 1; e\.g\. onnx\.tolerance=1e-4\.$",
        ),
        (
            {"enabled": False, "require": True},
            r"^onnx\.require=true needs the check it requires; pass onnx\.enabled=true",
        ),
        (
            {"imgsize": 64},
            r"^onnx\.imgsize is not an option; the onnx options are enabled, require, imgsz, opset, tolerance\.$",
        ),
    ],
)
def test_every_option_is_checked(config: dict[str, object], sentence: str) -> None:
    with pytest.raises(OptionError, match=sentence):
        OnnxSettings.from_config(config)


def test_the_defaults() -> None:
    assert OnnxSettings.from_config(None) == OnnxSettings(True, False, 128, 17, 1e-4)


@pytest.mark.slow
def test_every_module_at_two_placements_gets_an_onnx_result(tmp_path: Path) -> None:
    """``ablation plan attention=all placement=neck,before_sppf model=yolov5n``: every planned config
    has its result; each ``ok`` ran in a fresh ONNX Runtime session within 1e-4 of PyTorch; each
    failure names the op. The known failures: criss_cross (EyeLike) and mlca (Reshape)."""
    plan_command(["attention=all", "placement=neck,before_sppf", "model=yolov5n", "preflight.workers=2"], tmp_path)
    planned = {n: r for n, r in rows(tmp_path).items() if not r["error"]}
    assert len(planned) >= 52
    failed = {n for n, r in planned.items() if r["onnx"] != "ok"}
    assert {n.split("-")[1] for n in failed} == {"criss_cross", "mlca"}
    assert all(" op EyeLike " in planned[n]["onnx"] or " op Reshape " in planned[n]["onnx"] for n in failed)
    assert all(0 <= float(r["onnx_max_rel_diff"]) < 1e-4 for n, r in planned.items() if n not in failed)
