"""Training children: exit codes, logs, tracebacks, live events, environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ablation.train.isolate import child_environ, run_isolated
from ablation.train.worker import ERROR, RESULT
from vendor.yolov5 import compat


def write_job(folder: Path, **options: object) -> Path:
    job = folder / "job.json"
    job.write_text(json.dumps({"options": {"weights": "", "epochs": 1, "device": "cpu", "project": str(folder), **options}}))
    return job


def test_a_failing_child_returns_1_with_its_traceback_and_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = write_job(tmp_path, data=str(tmp_path / "missing.yaml"), cfg="yolov5n.yaml")
    code = run_isolated(job, tmp_path / "train.log", {}, echo=False)
    assert code == 1
    assert not (tmp_path / RESULT).exists()
    error = (tmp_path / ERROR).read_text()
    assert "Traceback" in error and "missing.yaml" in error
    assert "train: " in (tmp_path / "train.log").read_text()  # upstream's option line, from the child
    assert capsys.readouterr().out == ""


def test_child_output_is_echoed_live_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    job = write_job(tmp_path, data=str(tmp_path / "missing.yaml"), cfg="yolov5n.yaml")
    assert run_isolated(job, tmp_path / "train.log", {}, echo=True) == 1
    assert capsys.readouterr().out == (tmp_path / "train.log").read_text()


def test_children_start_from_the_launch_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Upstream's import has set OMP_NUM_THREADS in this process; a child must not inherit it.
    monkeypatch.setattr(compat, "_launch_env", {"NUMEXPR_MAX_THREADS": "3"})
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("_RJEM_MALLOC_CONF", "set by polars")
    monkeypatch.setenv("ABLATION_SET_LATER", "kept")
    env = child_environ({"CUDA_VISIBLE_DEVICES": "2"})
    assert "OMP_NUM_THREADS" not in env and env["NUMEXPR_MAX_THREADS"] == "3" and "_RJEM_MALLOC_CONF" not in env
    assert env["ABLATION_SET_LATER"] == "kept" and env["CUDA_VISIBLE_DEVICES"] == "2"
    assert os.environ["OMP_NUM_THREADS"] == "1"  # this process keeps its own
