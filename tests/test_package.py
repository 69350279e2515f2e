"""The package as a user installs it (``pip install <clone>``): the wheel the build backend makes
holds ``ablation`` and ``hydra_plugins`` only, every config and hyperparameter yaml and the console
script; a user's own config folder and attention module plug in without editing the package
(docs/modules.md). ``make package-check`` (``scripts/package_check.py``) installs that wheel into a
fresh venv and runs the commands; these are its fast, offline parts."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ablation.__main__ import COMMANDS
from ablation.engines.yolov5 import compat

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("package_check", ROOT / "scripts" / "package_check.py")
package_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(package_check)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of a copy of the checkout, built by the build backend (setuptools, in .venv: offline)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("ablation", "hydra_plugins"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    build = "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", build, str(out)], cwd=src, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return out / done.stdout.split()[-1]


def test_wheel_holds_the_two_packages_the_configs_and_the_console_script(wheel: Path) -> None:
    assert package_check.wheel_problems(wheel, ROOT) == []
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in (
        "ablation/conf/run.yaml",
        "ablation/conf/attention/se.yaml",
        "ablation/conf/placement/neck.yaml",
        "ablation/conf/experiment/demo.yaml",
        "ablation/conf/hydra/launcher/slurm.yaml",
        "ablation/engines/yolov5/hyps/hyp.small-images.yaml",
        "hydra_plugins/ablation_sweeper/__init__.py",
    ):
        assert data in names
    assert set(COMMANDS) == set(package_check.COMMANDS) == {"run", "plan", "export", "report", "track"}


def test_wheel_problems_names_what_is_wrong(wheel: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.whl"
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            if item.filename != "ablation/conf/experiment/demo.yaml":
                dst.writestr(item, src.read(item).replace(b"ablation.__main__:main", b"elsewhere:main"))
        dst.writestr("tests/__init__.py", "")
    problems = package_check.wheel_problems(bad, ROOT)
    assert len(problems) == 3
    assert "top-level names are ['ablation', 'hydra_plugins', 'tests']" in problems[0]
    assert "ablation/conf/experiment/demo.yaml" in problems[1] and "console script" in problems[2]


def test_constraints_are_the_exact_pins(tmp_path: Path) -> None:
    lines = package_check.constraints(ROOT, tmp_path / "c.txt").read_text().splitlines()
    assert "torch==2.13.0" in lines and "yolov5==7.0.14" in lines
    assert all("==" in line for line in lines)


@pytest.mark.parametrize("via", ["searchpath", "config-dir"])
def test_a_users_config_folder_and_module_plug_in_without_editing_the_package(tmp_path: Path, via: str) -> None:
    """experiment=mine and attention=mine from the user's folder, the class from ABLATION_PLUGINS: planned."""
    env = {**compat.launch_environ(), "ABLATION_QUIET": "1"}
    planned = package_check.plan_user_folder([sys.executable, "-m", "ablation"], tmp_path, env, via)
    assert planned.startswith("yolov5n-mine-neck")  # yolov5n: the user's experiment (the default is yolov5s)


def test_a_plugin_that_cannot_be_imported_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    env = {**compat.launch_environ(), "ABLATION_PLUGINS": "mylab_missing"}
    for command in (["ablation", "run"], ["ablation", "plan"], ["ablation.run"], ["ablation.plan"]):
        done = subprocess.run(
            [sys.executable, "-m", *command, "attention=se"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr[-2000:]
        assert done.stderr.strip().splitlines() == [
            "error: ABLATION_PLUGINS names 'mylab_missing', which cannot be imported (ModuleNotFoundError: "
            "No module named 'mylab_missing'); install it or put its folder on PYTHONPATH."
        ]
