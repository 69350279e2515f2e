"""``engine=NAME`` (``conf/engine``) selects the engine and its default model: ``engine=ultralytics``
trains yolo11n unless a model is given, any ultralytics model or yaml takes its place, a model of
the other engine is one sentence; every config of every group composes and passes the checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import initialize_config_dir

from ablation.config.checks import Checks, Slurm
from ablation.config.compose import CONF_DIR, compose_checked
from ablation.config.errors import OptionError
from ablation.config.grid import check_engine, engine_model, expand
from ablation.engines import ENGINES, engine_of

GROUPS = sorted(p.name for p in CONF_DIR.iterdir() if p.is_dir() and p.name != "hydra")
EVERY_OPTION = [f"{g}={p.stem}" for g in GROUPS for p in sorted((CONF_DIR / g).glob("*.yaml"))]
EVERY_OPTION += [f"hydra/launcher={p.stem}" for p in sorted((CONF_DIR / "hydra" / "launcher").glob("*.yaml"))]


def test_every_config_of_every_group_composes_and_passes_the_checks() -> None:
    assert "engine=ultralytics" in EVERY_OPTION and "model=yolo26x" in EVERY_OPTION and len(EVERY_OPTION) > 60
    checks = Checks(cluster=Slurm(asked=True))  # the launcher's options, not this machine's partitions
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        for option in EVERY_OPTION:
            cfg = compose_checked("run", [option], with_hydra=True)
            check_engine(cfg)
            checks.config(cfg)
            assert engine_of(cfg).name in ENGINES, option


@pytest.mark.parametrize(
    ("overrides", "cfg", "engine"),
    [
        ([], "yolov5s.yaml", "yolov5"),
        (["engine=yolov5"], "yolov5s.yaml", "yolov5"),
        (["engine=yolov5", "model=yolov5n"], "yolov5n.yaml", "yolov5"),
        (["engine=ultralytics"], "yolo11n", "ultralytics"),
        (["engine=ultralytics", "model=yolov8n"], "yolov8n", "ultralytics"),
        (["model=yolo26n", "engine=ultralytics"], "yolo26n", "ultralytics"),
        (["model=yolo11n"], "yolo11n", "ultralytics"),
        (["engine=ultralytics", "model.cfg=/my/yolov8n-p2.yaml"], "/my/yolov8n-p2.yaml", "ultralytics"),
    ],
)
def test_engine_selects_its_default_model_and_a_model_given_wins(overrides: list[str], cfg: str, engine: str) -> None:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        composed = compose_checked("run", overrides)
    check_engine(composed)
    Checks().config(composed)
    assert (str(composed.model.cfg), engine_of(composed).name) == (cfg, engine)


def test_the_default_models_are_named_by_the_engine_configs() -> None:
    assert (engine_model("yolov5"), engine_model("ultralytics")) == ("yolov5s", "yolo11n")


def test_engine_ultralytics_is_the_same_config_as_its_model_alone() -> None:
    chosen = expand("run", ["engine=ultralytics", "attention=se"])
    alone = expand("run", ["model=yolo11n", "attention=se"])
    assert [(e.name, e.config_hash, e.baseline_hash) for e in chosen] == [
        (e.name, e.config_hash, e.baseline_hash) for e in alone
    ]
    assert [e.name for e in chosen] == ["yolo11n-none", "yolo11n-se-neck"]


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        (
            ["engine=ultralytics", "model=yolov5n", "attention=se"],
            "model yolov5n trains with the yolov5 engine, not engine=ultralytics; choose a model of that engine "
            "(model=yolo11n) or leave engine=ultralytics out.",
        ),
        (
            ["engine=yolov5", "model=yolov8n,yolov5n", "attention=se"],
            "model yolov8n trains with the ultralytics engine, not engine=yolov5; choose a model of that engine "
            "(model=yolov5s) or leave engine=yolov5 out.",
        ),
    ],
)
def test_a_model_of_the_other_engine_is_one_sentence(overrides: list[str], sentence: str) -> None:
    with pytest.raises(OptionError) as raised:
        expand("run", overrides)
    assert str(raised.value) == sentence


def test_engine_sweeps_each_engine_with_its_default_model(tmp_path: Path) -> None:
    entries = expand("plan", ["engine=yolov5,ultralytics", "attention=se", f"out={tmp_path}"])
    assert sorted(e.name for e in entries) == ["yolo11n-none", "yolo11n-se-neck", "yolov5s-none", "yolov5s-se-neck"]


def test_demo_ultralytics_is_yolo11n_at_64_px_for_3_epochs_on_the_synthetic_set() -> None:
    import shutil
    import subprocess

    root = CONF_DIR.parents[1]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        demo = compose_checked("run", ["experiment=demo_ultralytics"])
    assert (str(demo.model.cfg), engine_of(demo).name, demo.data.name) == ("yolo11n", "ultralytics", "synthetic")
    assert (demo.train.imgsz, demo.train.epochs) == (64, 3)
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    dry = subprocess.run([make, "-n", "demo-ultralytics"], cwd=root, capture_output=True, text=True, timeout=60)
    assert "-m ablation.run attention=simam,se placement=neck experiment=demo_ultralytics" in dry.stdout
    assert "-m ablation.report out=results" in dry.stdout
