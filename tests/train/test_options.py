"""Training options are checked at planning: a bad ``train.*`` value stops the sweep before
anything trains (exit 2, no MLflow run, no job folder), with one sentence naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from ablation.config.compose import CONF_DIR
from ablation.config.grid import expand
from ablation.engines.yolov5.options import RULES, option_errors, upstream_options
from ablation.sweep.core import SweepError, plan_sweep
from tests.sweep.conftest import TINY, ablation, store_uri

DEFAULTS = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "train" / "default.yaml"))


def errors_with(**changes: object) -> str:
    return option_errors({**DEFAULTS, **changes})  # type: ignore[dict-item]


def test_the_defaults_and_the_demo_are_valid_and_every_option_has_a_rule() -> None:
    assert set(DEFAULTS) <= set(RULES)  # type: ignore[arg-type]
    demo = OmegaConf.load(CONF_DIR / "experiment" / "demo.yaml").train
    assert errors_with() == "" and errors_with(**OmegaConf.to_container(demo)) == ""  # type: ignore[arg-type]
    assert {"epochs", "batch_size", "imgsz", "label_smoothing", "cos_lr"} <= upstream_options()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"epochs": 0},
            "train.epochs=0 is not valid: expected a whole number of epochs, at least 1; e.g. train.epochs=100.",
        ),
        (
            {"batch": -3},
            "train.batch=-3 is not valid: expected a batch size of at least 1, or -1 for upstream's "
            "AutoBatch; e.g. train.batch=16.",
        ),
        ({"epochs": 2.5}, "train.epochs=2.5 is not valid: expected a whole number of epochs"),
        ({"imgsz": "640"}, "train.imgsz=640 is not valid: expected an image size in pixels"),
        ({"workers": -1}, "train.workers=-1 is not valid"),
        ({"patience": -5}, "train.patience=-5 is not valid"),
        ({"label_smoothing": 1.0}, "train.label_smoothing=1.0 is not valid"),
        ({"optimizer": "sgd"}, "train.optimizer=sgd is not valid: expected one of SGD, Adam, AdamW (as written)"),
        ({"cache": "RAM"}, "train.cache=RAM is not valid: expected null, ram or disk"),
        ({"freeze": 10}, "train.freeze=10 is not valid: expected a list of layer indices"),
        ({"freeze": [-1]}, "train.freeze=[-1] is not valid"),
        ({"device": "gpu"}, "train.device=gpu is not valid"),
        ({"hyp": "hyp.nowhere.yaml"}, "train.hyp=hyp.nowhere.yaml is not valid"),
        ({"rect": "yes"}, "train.rect=yes is not valid: expected true or false; e.g. train.rect=true."),
        ({"amp": "maybe"}, "train.amp=maybe is not valid: expected auto, true or false"),
        ({"deterministic": "off"}, "train.deterministic=off is not valid: expected one of strict, warn"),
        ({"epoch": 3}, "train.epoch is not an option of upstream's train.py; the nearest one is train.epochs."),
        ({"batch_size": 8}, "train.batch_size is set by ablation; use train.batch instead."),
    ],
)
def test_a_bad_option_is_one_clause_naming_the_fix(changes: dict, message: str) -> None:
    assert errors_with(**changes).startswith(message)


@pytest.mark.parametrize(
    "changes",
    [
        {"batch": -1},
        {"device": 0},
        {"device": "0,1"},
        {"device": "cuda:0"},
        {"device": "cpu"},
        {"cache": "disk"},
        {"cache": None},
        {"freeze": [0, 1, 2]},
        {"label_smoothing": 0},
        {"save_period": 5},
        {"amp": True},
        {"bucket": ""},
    ],
)
def test_what_upstream_accepts_is_accepted(changes: dict) -> None:
    assert errors_with(**changes) == ""


def test_every_bad_option_is_named_in_one_sentence() -> None:
    text = errors_with(epochs=0, batch=-3)
    assert text.count("is not valid") == 2 and text.endswith(".") and "\n" not in text


def test_planning_refuses_the_grid_before_anything_trains(tmp_path: Path) -> None:
    entries = expand(
        "run", ["model=yolov5n", "attention=se", "train.epochs=0", "train.batch=-3", f"data.root={tmp_path}"]
    )
    with pytest.raises(
        SweepError,
        match=r"^2 of 2 configs cannot train; nothing was trained\.\nFAILED yolov5n-none: "
        r"train\.epochs=0 is not valid.*; train\.batch=-3 is not valid",
    ) as err:
        plan_sweep(entries, tmp_path / "plan", entries[0].cfg.preflight)
    assert "FAILED yolov5n-se-neck: train.epochs=0" in str(err.value)
    assert not list((tmp_path / "plan").glob("*.yaml"))  # refused before the surgery, the dataset and preflight


@pytest.mark.slow  # a real command line in its own process
def test_the_command_exits_2_with_no_run_and_no_job_folder(tmp_path: Path) -> None:
    done = ablation(
        "ablation.run",
        *TINY,
        "attention=se",
        "train.epochs=0",
        "train.batch=-3",
        f"tracking.uri={store_uri(tmp_path)}",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    failed = [line for line in done.stderr.splitlines() if line.startswith("FAILED ")]
    assert [line.split(":")[0] for line in failed] == ["FAILED yolov5n-none", "FAILED yolov5n-se-neck"]
    assert all("train.epochs=0 is not valid" in line and "e.g. train.batch=16." in line for line in failed)
    assert not (tmp_path / "mlflow.db").exists() or not MlflowClient(store_uri(tmp_path)).search_runs(["0"])
    assert not list((tmp_path / "sweep").glob("*/job.json"))
