"""Every option is checked where the command line is expanded: a bad value is exit 2 with one
sentence naming the nearest valid value, in seconds, before any plan, job folder, store or MLflow
run exists; ``plan`` takes every ``run`` command line (same checks, same grid)."""

from __future__ import annotations

import csv
import os
import re
import time
from pathlib import Path

import pytest

from ablation.attention import ATTENTION
from ablation.config.checks import check_config
from ablation.config.compose import CONF_DIR, compose_checked
from ablation.config.errors import ConfigError, OptionError
from ablation.config.grid import expand, split_overrides
from tests.sweep.conftest import ablation, store_uri

# sinfo of a cluster with a CPU partition (the default) and a GPU partition (one node without GPUs)
FAKE_SINFO = "#!/bin/sh\nprintf 'cpu*|(null)\\ngpu|gpu:a100:4(S:0-1)\\ngpu|(null)\\n'\n"
SLURM = ["hydra/launcher=slurm"]


@pytest.fixture
def fake_sinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sinfo").write_text(FAKE_SINFO)
    (bin_dir / "sinfo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


@pytest.mark.parametrize(
    ("module", "overrides", "sentence"),
    [
        (
            "ablation.run",
            ["verdict.correction=holmm"],
            r"verdict\.correction=holmm is not one of holm, bh, none; the nearest is verdict\.correction=holm\.",
        ),
        (
            "ablation.run",
            ["verdict.alpha=5"],
            r"verdict\.alpha=5 must lie between 0 and 1 \(e\.g\. verdict\.alpha=0\.05\)\.",
        ),
        (
            "ablation.run",
            ["seed=0,1", "adaptive.enabled=true", "adaptive.start=0"],
            r"adaptive\.start=0 must lie between 1 and the 2 seeds given; the nearest is adaptive\.start=1\.",
        ),
        (
            "ablation.run",
            ["adaptive.enabled=true"],
            r"adaptive seeds need at least 2 seeds on the command line \(seed=0,1,2,3,4\), got 1\.",
        ),
        (
            "ablation.run",
            ["evaluate.latency.imgsz=100"],
            r"evaluate\.latency\.imgsz=100 must be a positive multiple of the models' stride 32; "
            r"the nearest is evaluate\.latency\.imgsz=96\.",
        ),
        (
            "ablation.run",
            ["evaluate.coco=yes"],
            r"evaluate\.coco=yes is not true or false; e\.g\. evaluate\.coco=true\.",
        ),
        (
            "ablation.plan",
            ["evaluate.latency.openvino=maybe"],
            r"evaluate\.latency\.openvino=maybe is not true or false; e\.g\. evaluate\.latency\.openvino=true\.",
        ),
        (
            "ablation.run",
            ["tracking.stale_after_s=10"],
            r"tracking\.stale_after_s=10 must exceed tracking\.heartbeat_s=30 \(else every live run looks lost\); "
            r"e\.g\. tracking\.stale_after_s=180\.",
        ),
        (
            "ablation.run",
            ["engine=ultralytics", "model=yolov5n"],
            r"model yolov5n trains with the yolov5 engine, not engine=ultralytics; choose a model of that engine "
            r"\(model=yolo11n\) or leave engine=ultralytics out\.",
        ),
        (
            "ablation.plan",
            ["onnx.imgsz=100"],
            r"onnx\.imgsz=100 must be a positive multiple of the models' stride 32; the nearest is onnx\.imgsz=96\.",
        ),
        (
            "ablation.run",
            ["onnx.opset=13"],
            r"onnx\.opset=13 is outside the opsets checked here \(17-20\); the nearest is onnx\.opset=17\.",
        ),
        (
            "ablation.plan",
            ["verdict.correction=bhh"],
            r"verdict\.correction=bhh is not one of holm, bh, none; the nearest is verdict\.correction=bh\.",
        ),
        (
            "ablation.export",
            ["metric=mAP5095"],
            r"metric=mAP5095 is not one of mAP50, mAP50-95, coco/AP; the nearest is metric=mAP50-95\.",
        ),
        (
            "ablation.report",
            ["bootstrap.resamples=0"],
            r"bootstrap\.resamples=0 must be at least 1; e\.g\. bootstrap\.resamples=1000\.",
        ),
    ],
)
def test_a_bad_option_is_exit_2_in_seconds_with_nothing_created(
    tmp_path: Path, module: str, overrides: list[str], sentence: str
) -> None:
    grid = (
        ["attention=se", "placement=neck", "hydra.sweep.dir=sweep"]
        if module in ("ablation.run", "ablation.plan")
        else []
    )
    out = ["out=plans"] if module == "ablation.plan" else []
    start = time.monotonic()
    done = ablation(module, *grid, *out, *overrides, f"tracking.uri={store_uri(tmp_path)}", cwd=tmp_path, timeout=120)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, done.stderr[-2000:]
    assert re.fullmatch(f"error: {sentence}", done.stderr.strip().splitlines()[-1]), done.stderr[-2000:]
    assert elapsed < 20
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no mlflow.db, no sweep folder, no plans


def test_a_tracking_uri_with_an_unknown_scheme_is_refused(tmp_path: Path) -> None:
    done = ablation(
        "ablation.run", "attention=se", "tracking.uri=sqlit:///x.db", "hydra.sweep.dir=sweep", cwd=tmp_path, timeout=120
    )
    assert done.returncode == 2
    assert re.fullmatch(
        r"error: tracking\.uri=sqlit:///x\.db has the scheme sqlit, not one of sqlite, postgresql, postgres, mysql, "
        r"mssql, http, https, file, databricks; the nearest is tracking\.uri=sqlite:///x\.db\.",
        done.stderr.strip().splitlines()[-1],
    )
    assert list(tmp_path.iterdir()) == []


def test_gpus_on_a_partition_without_any_are_refused_before_planning(tmp_path: Path, fake_sinfo: Path) -> None:
    start = time.monotonic()
    done = ablation(
        "ablation.run",
        "attention=se",
        *SLURM,
        f"tracking.uri={store_uri(tmp_path)}",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == (
        "error: partition cpu has no GPUs; pass hydra.launcher.gpus_per_node=0 to train on its CPUs, "
        "or choose a partition with GPUs (hydra.launcher.partition=gpu)."
    )
    assert time.monotonic() - start < 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]  # the fake sinfo only


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["hydra.launcher.partition=cpu"], r"^partition cpu has no GPUs; pass hydra\.launcher\.gpus_per_node=0 "),
        (
            ["hydra.launcher.partition=gpus"],
            r"^hydra\.launcher\.partition=gpus is not a Slurm partition here \(sinfo lists cpu, gpu\); "
            r"the nearest is hydra\.launcher\.partition=gpu\.$",
        ),
    ],
)
def test_the_partition_is_checked_against_sinfo(fake_sinfo: Path, overrides: list[str], match: str) -> None:
    with pytest.raises(OptionError, match=match):
        expand("run", ["model=yolov5n", *SLURM, *overrides])


@pytest.mark.parametrize(
    "overrides",
    [
        ["hydra.launcher.partition=gpu"],
        ["hydra.launcher.gpus_per_node=0"],
        ["hydra.launcher.partition=cpu", "hydra.launcher.gpus_per_node=0"],
    ],
)
def test_what_the_cluster_can_run_is_accepted(fake_sinfo: Path, overrides: list[str]) -> None:
    assert [e.name for e in expand("run", ["model=yolov5n", *SLURM, *overrides])] == ["yolov5n-none"]


def test_without_sinfo_the_launcher_is_not_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no sinfo: sbatch is left to say what is wrong
    assert [e.name for e in expand("run", ["model=yolov5n", *SLURM])] == ["yolov5n-none"]


def test_a_swept_option_is_checked_in_every_value() -> None:
    with pytest.raises(
        OptionError, match=r"^evaluate\.latency\.repeats=0 must be at least 1; e\.g\. evaluate\.latency\.repeats=30\.$"
    ):
        expand("run", ["model=yolov5n", "evaluate.latency.repeats=30,0"])


def test_every_option_error_is_a_config_error() -> None:
    from ablation.report.adaptive import AdaptiveError
    from ablation.report.bootstrap import BootstrapError
    from ablation.report.family import CorrectionError
    from ablation.report.stats import MetricError

    assert all(issubclass(e, OptionError) for e in (AdaptiveError, BootstrapError, CorrectionError, MetricError))
    assert issubclass(OptionError, ConfigError)


def test_the_defaults_of_every_command_pass() -> None:
    from hydra import initialize_config_dir

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        for name in ("run", "plan", "export", "report"):
            check_config(compose_checked(name, [], with_hydra=True))


def test_plan_and_run_expand_one_command_line_to_the_same_grid() -> None:
    args = ["model=yolov5n", "attention=se", "seed=0,1", "adaptive.enabled=true", "evaluate.latency.imgsz=64"]
    run, plan = expand("run", args), expand("plan", [*args, "out=plans"])
    assert [(e.name, e.config_hash) for e in plan] == [(e.name, e.config_hash) for e in run]
    with pytest.raises(OptionError, match=r"^adaptive\.step=0 must be at least 1; the nearest is adaptive\.step=1\.$"):
        expand("plan", [*args, "adaptive.step=0"])


def test_plan_takes_a_run_command_line(tmp_path: Path) -> None:
    done = ablation(
        "ablation.plan",
        "model=yolov5n",
        "attention=se",
        "preflight.enabled=false",
        "seed=0,1",
        "adaptive.enabled=true",
        "evaluate.latency.imgsz=64",
        "data.train=8",
        "data.val=4",
        f"data.root={tmp_path / 'datasets'}",
        f"tracking.uri={store_uri(tmp_path)}",
        f"out={tmp_path / 'plans'}",
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with (tmp_path / "plans" / "plan.csv").open() as f:
        assert [r["name"] for r in csv.DictReader(f)] == ["yolov5n-none", "yolov5n-se-neck"]


@pytest.mark.parametrize("value", ["se,all", "all,se"])
def test_attention_all_in_a_list_is_every_module_once(value: str) -> None:
    every = ATTENTION.names()
    _, [sweep] = split_overrides([f"attention={value}"])
    assert sorted(sweep) == sorted(f"attention={n}" for n in every) and len(sweep) == len(every)
    assert sweep[0] == ("attention=se" if value.startswith("se") else f"attention={every[0]}")
