"""A config's identity covers what can change its result besides the config: the code of ours it
runs (its attention module, and what ``fingerprint.CODE`` maps to it: engine, surgery, training
child, evaluation), the installed packages and the dataset's files. A re-run of the same command
trains again exactly the configs whose fingerprint changed; everything else is skipped.

The source tree is a copy (``fingerprint.ROOT`` points at it), so the tests edit real module
files; the skip decision is the sweeper's: ``config_hash`` not among the FINISHED runs of a
real MLflow store.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from ablation.config import fingerprint
from ablation.config.grid import GridEntry, expand
from ablation.job.attempt import run_params, run_tags
from ablation.sweep.core import triage
from ablation.track import FINISHED, Store

ROOT = Path(__file__).resolve().parents[1]
GRID = ["model=yolov5n", "attention=se,gam", "placement=neck,c3_inside", "data.train=8", "data.val=4"]
SE = {"yolov5n-se-neck", "yolov5n-se-c3_inside-bottleneck_in-all"}
GAM = {"yolov5n-gam-neck", "yolov5n-gam-c3_inside-bottleneck_in-all"}
C3_INSIDE = {"yolov5n-se-c3_inside-bottleneck_in-all", "yolov5n-gam-c3_inside-bottleneck_in-all"}
MODULES = SE | GAM  # every config with an attention module
EVERY = {"yolov5n-none"} | MODULES
HELPER = "\n\ndef added_helper() -> int:\n    return 1\n"


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], set[str]]:
    """The command line and the config hashes of its first run (all FINISHED)."""
    folder = tmp_path_factory.mktemp("first")
    args = [*GRID, f"data.root={folder / 'datasets'}", f"tracking.uri=sqlite:///{folder / 'mlflow.db'}"]
    entries = expand("run", args)
    assert {e.name for e in entries} == EVERY
    return args, {e.config_hash for e in entries}


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of our packages that the fingerprints read, plus the README and the docs."""
    src = tmp_path / "src"
    for package in fingerprint.OURS:
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "README.md", src / "README.md")
    shutil.copytree(ROOT / "docs", src / "docs")
    monkeypatch.setattr(fingerprint, "ROOT", src)
    return src


def retrained(args: list[str], done: set[str]) -> set[str]:
    """The configs the same command trains again (the sweeper's test: not FINISHED with this hash)."""
    entries = expand("run", args)
    baselines = {e.config_hash for e in entries if e.is_baseline}
    assert {e.baseline_hash for e in entries} == baselines  # every config still pairs with its baseline
    return {e.name for e in entries if e.config_hash not in done}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def append_helper(path: Path) -> None:
    with path.open("a") as f:
        f.write(HELPER)


def test_a_change_to_se_s_computation_retrains_the_se_configs_and_skips_the_rest(
    tree: Path, first: tuple, tmp_path: Path
) -> None:
    args, _ = first
    args = [*args[:-1], f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}"]  # a store of its own
    entries = expand("run", args)
    store = Store(f"sqlite:///{tmp_path / 'mlflow.db'}", "ablation")
    for entry in entries:
        store.end(store.start(entry.name, tags=run_tags(entry)), FINISHED)
    done = {e.config_hash for e in triage(store, entries, stale_after_s=60).done}  # what the sweeper skips
    assert retrained(args, done) == set()
    edit(tree / "ablation/attention/se.py", "x.mean((2, 3), keepdim=True)", "x.amax((2, 3), keepdim=True)")
    assert retrained(args, done) == SE


def test_docstrings_comments_and_layout_of_a_module_retrain_nothing(tree: Path, first: tuple) -> None:
    args, done = first
    se = tree / "ablation/attention/se.py"
    edit(se, "Global average pool →", "Global average pooling →")  # the module's docstring
    edit(se, "# mean() rather than AdaptiveAvgPool2d", "# mean(), not AdaptiveAvgPool2d,")
    edit(se, "    def forward(self", "    # a new comment\n\n    def forward(self")
    edit(se, "class SE(nn.Module):\n", 'class SE(nn.Module):\n    """A new class docstring."""\n\n')
    edit(tree / "README.md", "Which attention module", "Which attention modules")
    edit(tree / "docs/module-costs.md", "What each module costs", "What every module costs")
    assert retrained(args, done) == set()


def test_a_file_retrains_only_the_configs_that_use_it(tree: Path, first: tuple) -> None:
    args, done = first
    append_helper(tree / "ablation/attention/_batchnorm.py")  # imported by gam (and nam, sk)
    assert retrained(args, done) == GAM
    append_helper(tree / "ablation/engines/yolov5/c3_attn.py")  # C3Attn: every c3_inside config
    assert retrained(args, done) == C3_INSIDE | GAM
    append_helper(tree / "ablation/attention/simam.py")  # in no config of this grid
    assert retrained(args, done) == C3_INSIDE | GAM


def test_a_change_to_the_surgery_retrains_the_configs_with_a_module_not_the_baseline(tree: Path, first: tuple) -> None:
    """The baseline trains the base yaml as ``graph`` reads and writes it: the placing code never runs for it."""
    args, done = first
    edit(
        tree / "ablation/plan/surgery/transform.py",
        "Layer(-1, 1, entry.cls.__name__",
        "Layer(-1, 2, entry.cls.__name__",
    )
    assert retrained(args, done) == MODULES
    edit(
        tree / "ablation/plan/surgery/transform.py",
        "Layer(-1, 2, entry.cls.__name__",
        "Layer(-1, 1, entry.cls.__name__",
    )
    assert retrained(args, done) == set()
    append_helper(tree / "ablation/plan/surgery/placements.py")
    assert retrained(args, done) == MODULES
    append_helper(tree / "ablation/plan/surgery/graph.py")  # writes every planned yaml, the baseline's too
    assert retrained(args, done) == EVERY


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        ("ablation/engines/yolov5/compat.py", "warn_only or (enabled and", "warn_only and (enabled and"),
        ("ablation/engines/__init__.py", 'DEFAULT = "yolov5"', 'DEFAULT = "yolov5"\nOTHER = 1'),
        ("ablation/evaluate/coco.py", '"AR100": 8}', '"AR100": 7}'),
        (
            "ablation/data/dataset.py",
            "from __future__ import annotations\n",
            "from __future__ import annotations\nX = 1\n",
        ),
        ("ablation/train/worker.py", "torch.set_num_threads(int(", "torch.set_num_threads(2 * int("),
        ("ablation/job/child.py", 'options["batch_size"] = options.pop("batch")', 'options["batch_size"] = 2'),
    ],
)
def test_a_change_to_the_engine_training_child_data_or_evaluation_retrains_every_config_baseline_included(
    tree: Path, first: tuple, path: str, old: str, new: str
) -> None:
    args, done = first
    edit(tree / path, old, new)
    assert retrained(args, done) == EVERY


def test_code_that_changes_no_number_retrains_nothing(tree: Path, first: tuple) -> None:
    """The training child's process plumbing, the job's bookkeeping, reporting, tracking, the
    sweep and the feature-size refusal are no part of any config's code."""
    args, done = first
    edit(tree / "ablation/train/worker.py", "return 130", "return 131")  # standby, not train
    edit(tree / "ablation/job/child.py", "return detail.strip().splitlines()[-1]", "return detail.strip()")
    for path in (
        "ablation/report/table.py",
        "ablation/track/store.py",
        "ablation/sweep/core.py",
        "ablation/config/grid.py",
        "ablation/plan/surgery/feature_size.py",
        "ablation/plan/preflight/pool.py",
    ):
        append_helper(tree / path)
    assert retrained(args, done) == set()


def test_docstrings_and_comments_of_the_code_every_config_runs_retrain_nothing(tree: Path, first: tuple) -> None:
    args, done = first
    edit(tree / "ablation/plan/surgery/transform.py", "The surgery itself", "The surgery proper")
    edit(
        tree / "ablation/plan/surgery/graph.py",
        '"""One ``[from, number, module, args]`` row',
        '"""A ``[from, number, module, args]`` row',
    )
    edit(tree / "ablation/engines/yolov5/compat.py", "``strict`` is upstream's behaviour.", "``strict`` is upstream's.")
    edit(tree / "ablation/evaluate/coco.py", "# COCOeval.stats index", "# the COCOeval.stats index")
    edit(
        tree / "ablation/train/worker.py",
        '"""``python -m ablation.train.worker',
        '"""Run ``python -m ablation.train.worker',
    )
    assert retrained(args, done) == set()


def test_a_change_to_the_weight_transfer_retrains_the_configs_that_start_from_a_checkpoint(
    tree: Path, tmp_path: Path
) -> None:
    weights = tmp_path / "base.pt"
    weights.write_bytes(b"weights of a base model")
    scratch = ["model=yolov5n", "attention=se", "data.train=8", "data.val=4", f"data.root={tmp_path / 'datasets'}"]
    started = [*scratch, f"train.weights={weights}"]
    done = {e.config_hash for e in expand("run", scratch) + expand("run", started)}
    append_helper(tree / "ablation/plan/surgery/weights.py")
    assert retrained(scratch, done) == set()
    assert retrained(started, done) == {"yolov5n-none", "yolov5n-se-neck"}


def test_the_code_table_names_modules_and_definitions_that_exist() -> None:
    """Each row of ``CODE`` places some module; a row's named definitions are all defined (a
    renamed function would otherwise count as absent)."""
    table = fingerprint.code_table()
    for key, scope, why in fingerprint.CODE:
        assert why and scope in fingerprint.SCOPES, key
        module, _, names = key.partition(":")
        assert any(unit == key or unit.split(":")[0].startswith(f"{module}.") for unit in table), key
        if names:
            tree = ast.parse((fingerprint.ROOT / f"{module.replace('.', '/')}.py").read_text())
            defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
            assert set(names.split(",")) <= defined, key
    assert table["ablation.engines.yolov5.c3_attn"][0] == fingerprint.C3_INSIDE
    assert table["ablation.plan.surgery.transform"][0] == fingerprint.ATTENTION
    assert table["ablation.report.summary"][0] == fingerprint.NONE


def test_a_changed_label_retrains_every_config_baseline_included(tmp_path: Path) -> None:
    args = [*GRID, f"data.root={tmp_path / 'datasets'}"]
    done = {e.config_hash for e in expand("run", args)}
    [dataset] = (tmp_path / "datasets").glob("synthetic-*")
    label = sorted((dataset / "labels" / "val").glob("*.txt"))[0]
    text = label.read_text()
    label.write_text(("1" if text[0] == "0" else "0") + text[1:])  # another class, same size
    assert retrained(args, done) == EVERY
    label.write_text(text)  # the same content again, a new modification time (as after a fresh clone)
    os.utime(label, ns=(1_000_000_000, 1_000_000_000))
    assert retrained(args, done) == set()
    (dataset / "labels" / "train.cache").write_text("upstream's label cache is not a label")
    (dataset / "NOTES.md").write_text("nor is this")
    assert retrained(args, done) == set()
    image = sorted((dataset / "images" / "train").glob("*.png"))[-1]
    image.rename(tmp_path / image.name)  # one image fewer in the train split
    assert retrained(args, done) == EVERY


def test_other_package_versions_retrain_every_config(first: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    args, done = first
    versions = fingerprint.package_versions()
    assert versions["torch"] == torch.__version__ and versions["yolov5"] == "7.0.14"
    # the deployed latencies' export and runtimes are numbers' code too
    assert (versions["onnx"], versions["onnxruntime"], versions["openvino"]) == ("1.23.2", "1.31.1", "2026.4.1")
    monkeypatch.setattr(fingerprint, "package_versions", lambda engine=None: {**versions, "numpy": "9.9.9"})
    assert retrained(args, done) == EVERY


ULTRALYTICS = ["model=yolo11n", "attention=se", "data.train=8", "data.val=4"]


def test_the_ultralytics_version_is_in_the_identity_of_ultralytics_configs_only(
    first: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args, done = first
    ours = [*ULTRALYTICS, f"data.root={tmp_path / 'datasets'}"]
    before = {e.name: e.config_hash for e in expand("run", ours)}
    assert fingerprint.package_versions("ultralytics")["ultralytics"] == "8.4.190"
    assert "ultralytics" not in fingerprint.package_versions("yolov5")
    installed = fingerprint.version
    monkeypatch.setattr(fingerprint, "version", lambda name: "8.5.0" if name == "ultralytics" else installed(name))
    fingerprint.package_versions.cache_clear()
    try:
        after = {e.name: e.config_hash for e in expand("run", ours)}
        assert fingerprint.package_versions("ultralytics")["ultralytics"] == "8.5.0"
        assert sorted(after) == ["yolo11n-none", "yolo11n-se-neck"]
        assert all(after[name] != before[name] for name in after)  # both retrain
        assert retrained(args, done) == set()  # the yolov5 configs do not
    finally:
        fingerprint.package_versions.cache_clear()


def test_a_change_to_the_ultralytics_engine_retrains_its_configs_only(tree: Path, first: tuple, tmp_path: Path) -> None:
    args, done = first
    ours = [*ULTRALYTICS, f"data.root={tmp_path / 'datasets'}"]
    before = {e.name: e.config_hash for e in expand("run", ours)}
    append_helper(tree / "ablation/engines/ultralytics/train.py")
    after = {e.name: e.config_hash for e in expand("run", ours)}
    assert all(after[name] != before[name] for name in ("yolo11n-none", "yolo11n-se-neck"))
    assert retrained(args, done) == set()  # the yolov5 configs run none of it
    append_helper(tree / "ablation/engines/yolov5/train.py")  # every config: it reads the data of all
    assert retrained(args, done) == EVERY
    assert all(e.config_hash != after[e.name] for e in expand("run", ours))


def test_a_run_records_its_fingerprints_and_package_versions(first: tuple) -> None:
    fixed = [a for a in first[0] if not a.startswith(("attention=", "placement="))]
    [entry] = [e for e in expand("run", [*fixed, "attention=se"]) if not e.is_baseline]
    tags, params = run_tags(entry), run_params(entry, entry.cfg)
    prints = dict(entry.fingerprints)
    assert {tags[f"{kind}_fingerprint"] for kind in fingerprint.KINDS} == {prints[k] for k in fingerprint.KINDS}
    assert all(len(digest) == 10 for digest in prints.values())
    assert params["version.torch"] == torch.__version__ and params["version.yolov5"] == "7.0.14"
    assert "version.ultralytics" not in params
    [ours] = [e for e in expand("run", [*ULTRALYTICS, *fixed[-2:]]) if not e.is_baseline]
    assert run_params(ours, ours.cfg)["version.ultralytics"] == "8.4.190"


def test_the_baseline_runs_the_common_code_and_a_dataset_that_cannot_be_read_is_left_to_planning(
    tmp_path: Path,
) -> None:
    base, se = expand("run", ["model=yolov5n", "attention=se", f"data.path={tmp_path / 'missing.yaml'}"])
    assert isinstance(base, GridEntry) and base.is_baseline and fingerprint.code_scopes(base.cfg) == [fingerprint.EVERY]
    assert fingerprint.code_scopes(se.cfg) == [fingerprint.EVERY, fingerprint.ATTENTION]
    assert len({dict(base.fingerprints)["code"], dict(se.fingerprints)["code"]}) == 2
    assert dict(base.fingerprints)["data"] == fingerprint.UNREADABLE


def test_the_code_of_a_module_is_its_file_and_what_it_imports_from_our_packages() -> None:
    for module in ("gam", "nam", "sk"):
        assert sorted(fingerprint.source_files([f"ablation.attention.{module}"])) == sorted(
            [
                "ablation.attention._batchnorm",
                f"ablation.attention.{module}",
                "ablation.attention.registry",
            ]
        )
    assert sorted(fingerprint.source_files(["ablation.attention.se"])) == [
        "ablation.attention.registry",
        "ablation.attention.se",
    ]
    assert sorted(fingerprint.source_files(["ablation.engines.yolov5.c3_attn"])) == [
        "ablation.attention.registry",
        "ablation.engines.yolov5.c3_attn",
        "ablation.engines.yolov5.registration",
    ]


def test_fingerprints_of_one_expansion_list_each_dataset_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[object] = []
    real = fingerprint.data_fingerprint
    monkeypatch.setattr(fingerprint, "data_fingerprint", lambda cfg: calls.append(cfg) or real(cfg))
    entries = expand("run", [*GRID, f"data.root={tmp_path}", "seed=0,1"])
    assert len(entries) == 10 and len(calls) == 1
    assert OmegaConf.to_container(calls[0])["train"] == 8  # type: ignore[index]


def test_fingerprints_of_one_expansion_hash_each_scope_and_module_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for name in ("scope_digest", "module_digest"):
        real = getattr(fingerprint, name)
        monkeypatch.setattr(fingerprint, name, lambda key, real=real: calls.append(key) or real(key))
    expand("run", [*GRID, "seed=0,1"])
    assert sorted(calls) == sorted(["every", "attention", "c3_inside", "se", "gam"])


def test_the_report_s_runs_carry_the_fingerprints_that_tell_old_runs_from_new() -> None:
    from ablation.report.runs import tidy

    raw = pd.DataFrame(
        [
            {
                "tags.mlflow.runName": "yolov5n-se-neck",
                "tags.config_hash": h,
                "tags.group_hash": h,
                "tags.code_fingerprint": code,
                "tags.packages_fingerprint": "p",
                "tags.data_fingerprint": "d",
                "status": "FINISHED",
                "run_id": h,
                "start_time": pd.Timestamp(t, unit="s"),
            }
            for h, code, t in (("old", "c0", 1), ("new", "c1", 2))
        ]
    )
    frame = tidy(raw)
    assert dict(zip(frame["config_hash"], frame["code_fingerprint"])) == {"old": "c0", "new": "c1"}
    assert set(frame["data_fingerprint"]) == {"d"}


def test_the_files_a_config_names_retrain_when_what_upstream_reads_changes(tmp_path: Path) -> None:
    from ablation.engines.yolov5.hyps import resolve_hyp
    from ablation.engines.yolov5.paths import model_yaml

    model, hyp, weights = tmp_path / "yolov5n.yaml", tmp_path / "hyp.yaml", tmp_path / "base.pt"
    shutil.copy(model_yaml("yolov5n"), model)
    shutil.copy(resolve_hyp("hyp.scratch-low.yaml"), hyp)
    weights.write_bytes(b"weights of a base model")
    args = [
        f"model.cfg={model}",
        "attention=se",
        f"train.hyp={hyp}",
        f"train.weights={weights}",
        "data.train=8",
        "data.val=4",
        f"data.root={tmp_path / 'datasets'}",
    ]
    done = {e.config_hash for e in expand("run", args)}
    every = {"yolov5n-none", "yolov5n-se-neck"}
    for path, old, new in ((model, "depth_multiple: 0.33", "depth_multiple: 0.5"), (hyp, "lr0: 0.01", "lr0: 0.02")):
        text = path.read_text()
        path.write_text(text + "# a comment\n")
        assert retrained(args, done) == set(), path
        path.write_text(text.replace(old, new))
        assert retrained(args, done) == every, path
        path.write_text(text)
    weights.write_bytes(b"weights of another model")
    assert retrained(args, done) == every


def test_a_planned_job_takes_its_datasets_fingerprint_from_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job of a sweep does not list and hash the dataset again (seconds per config on a large
    set): its identity takes the digest planned with it, and so equals the sweep's."""
    from ablation.config.fingerprint import Fingerprints
    from ablation.config.grid import describe
    from ablation.plan.planner import load_row, plan

    entries = expand(
        "run", ["model=yolov5n", "attention=se", f"data.root={tmp_path / 'datasets'}", "data.train=8", "data.val=4"]
    )
    plan(entries, tmp_path / "plan", {"enabled": False, "workers": 1})
    monkeypatch.setattr(fingerprint, "data_fingerprint", lambda data_cfg: pytest.fail("the dataset was hashed again"))
    for entry in entries:
        row = load_row(tmp_path / "plan" / f"{entry.name}.json")
        assert row.data_fingerprint == dict(entry.fingerprints)["data"] != ""
        job = describe(entry.cfg, fingerprints=Fingerprints.known(entry.cfg.data, row.data_fingerprint))
        assert job.config_hash == entry.config_hash and job.fingerprints == entry.fingerprints


def test_a_change_to_widening_retrains_only_the_wider_baselines(tree: Path, tmp_path: Path) -> None:
    grid = ["model=yolov5n", "attention=se", "data.train=8", "data.val=4", f"data.root={tmp_path / 'datasets'}"]
    wider = [*grid, "attention=none", "++model.widen=1.04"]  # a wider baseline (its baseline is not in this grid)

    def wider_again() -> bool:
        return {e.config_hash for e in expand("run", wider)} <= done

    done = {e.config_hash for e in expand("run", grid) + expand("run", wider)}
    append_helper(tree / "ablation/plan/control.py")  # which wider baselines a grid gets: no config's code
    assert retrained(grid, done) == set() and wider_again()
    append_helper(tree / "ablation/plan/surgery/widen.py")
    assert retrained(grid, done) == set() and not wider_again()
