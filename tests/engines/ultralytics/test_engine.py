"""The ultralytics engine without training: registration, model names and scales, options,
its settings in a fresh process (offline, integrations off)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ablation.attention import ATTENTION
from ablation.engines import ENGINES, engine
from tests.engines.ultralytics.conftest import run_script

ENG = engine("ultralytics")


def params(model: object) -> int:
    return sum(p.numel() for p in model.parameters())  # type: ignore[attr-defined]


def test_engine_is_listed() -> None:
    assert "ultralytics" in ENGINES and ENG.name == "ultralytics"


def test_every_attention_module_is_registered_with_parse_model() -> None:
    from ultralytics.nn import tasks

    from ablation.engines.ultralytics.csp_attn import BLOCKS
    from ablation.engines.ultralytics.registration import BlockParser

    names = ENG.setup()
    assert names == sorted([*(e.cls.__name__ for e in ATTENTION), "C2fAttention", "C3k2Attention"])
    assert all(getattr(tasks, e.cls.__name__) is e.cls for e in ATTENTION)
    assert all(getattr(tasks, name) is cls for name, cls in BLOCKS.items())
    assert isinstance(tasks.parse_model, BlockParser) and ENG.setup() == names  # once, however often
    assert not isinstance(tasks.parse_model.original, BlockParser)


def test_a_name_the_package_uses_is_refused() -> None:
    """The package has a C2fAttn of its own: our C2f block is named C2fAttention."""
    from ablation.engines.ultralytics.csp_attn import C2fAttention
    from ablation.engines.ultralytics.registration import register

    ENG.setup()
    with pytest.raises(KeyError, match="ultralytics already defines 'C2fAttn'; rename our module"):
        register({"C2fAttn": C2fAttention})


@pytest.mark.parametrize("entry", list(ATTENTION), ids=lambda e: e.name)
def test_no_module_has_a_member_parse_model_overwrites(entry: object) -> None:
    from ablation.engines.ultralytics.registration import RESERVED

    module = entry.cls(*entry.positional_args(64, {}))  # type: ignore[attr-defined]
    clashes = [n for n in RESERVED if n in vars(module) or n in module._modules or n in module._parameters]
    assert not clashes


def test_an_inserted_module_builds_with_the_expected_parameter_count(tmp_path: Path) -> None:
    """yolo11n with SE after C2PSA (layer 11), written by hand: head indices after it shift by 1."""
    from ablation.attention.se import SE

    base = yaml.safe_load(ENG.model_yaml("yolo11n").read_text())
    edited = copy.deepcopy(base)
    edited["backbone"].append([-1, 1, "SE", [256]])  # yolo11n's C2PSA outputs 256 channels
    moved = {10: 11, 13: 14, 16: 17, 19: 20, 22: 23}  # head inputs from layer 10 on
    for layer in edited["head"]:
        if isinstance(layer[0], list):
            layer[0] = [moved.get(f, f) for f in layer[0]]
    assert edited["head"][-1][0] == [17, 20, 23]
    path = tmp_path / "se-after-c2psa.yaml"  # no scale in the name: the file's scale key decides
    path.write_text(yaml.safe_dump(edited, sort_keys=False))
    plain, inserted = ENG.build_model(ENG.model_yaml("yolo11n"), nc=5), ENG.build_model(path, nc=5)
    assert params(inserted) == params(plain) + params(SE(256))
    assert type(inserted.model[11]) is SE and len(inserted.model) == len(plain.model) + 1


@pytest.mark.parametrize(("name", "count"), [("yolo11n", 2_624_080), ("yolo11s", 9_458_752), ("yolov8n", 3_157_200)])
def test_names_select_their_scale(name: str, count: int, tmp_path: Path) -> None:
    """Counts of the package's own model tables (COCO, 80 classes); a copy under another name keeps the size."""
    path = ENG.model_yaml(name)
    assert path.is_file() and f"scale: {name[-1]}" in path.read_text()
    assert params(ENG.build_model(path)) == count
    renamed = tmp_path / "se-neck.yaml"
    renamed.write_text(path.read_text())
    assert params(ENG.build_model(renamed)) == count


def test_a_multi_scale_yaml_without_a_scale_is_refused(tmp_path: Path) -> None:
    text = ENG.model_yaml("yolo11n").read_text().replace("scale: n", "")
    (tmp_path / "custom.yaml").write_text(text)
    with pytest.raises(ValueError, match="names none"):
        ENG.build_model(tmp_path / "custom.yaml")


def test_unknown_model_name() -> None:
    with pytest.raises(FileNotFoundError, match="yolo11n..x"):
        ENG.model_yaml("yolo99n")


def test_the_train_groups_defaults_are_valid_and_map_to_the_trainer() -> None:
    from omegaconf import OmegaConf

    from ablation.engines.ultralytics.options import trainer_args

    train = OmegaConf.load(Path(__file__).resolve().parents[3] / "ablation/conf/train/default.yaml")
    assert ENG.option_errors(train) == ""
    args, problems = trainer_args({**OmegaConf.to_container(train), "batch_size": 8, "cfg": "m.yaml"})
    assert not problems
    assert args["batch"] == 8 and args["model"] == "m.yaml" and args["freeze"] is None
    assert args["val"] is args["save"] is args["plots"] is True and args["cache"] is False
    assert args["deterministic"] is True and args["amp"] is True and "pretrained" not in args


def test_bad_options_are_one_sentence() -> None:
    error = ENG.option_errors({"epochs": 0, "epoch": 3, "quad": True, "hyp": "hyp.small-images.yaml", "amp": "x"})
    for clause in (
        "train.epochs",
        "nearest one is train.epochs",
        "train.quad=True",
        "train.hyp=default",
        "train.amp=x",
    ):
        assert clause in error
    assert error.endswith(".") and "\n" not in error


def test_setup_in_a_fresh_process_is_private_offline_and_quiet(tmp_path: Path) -> None:
    probe = run_script("probe", cwd=tmp_path, env={"OMP_NUM_THREADS": "2"})
    assert "NETWORK" not in probe["stderr"]
    assert probe["config_dir"].startswith("/") and "ablation-ultralytics-" in probe["config_dir"]
    assert {"Arial.ttf", "Arial.Unicode.ttf", "settings.json"} <= set(probe["files"])
    for source in (probe["settings"], probe["memory"]):
        assert source["mlflow"] is False and source["sync"] is False
        assert not any(source[k] for k in ("clearml", "comet", "dvc", "raytune", "tensorboard", "wandb"))
        assert source["weights_dir"].startswith(probe["config_dir"])
    assert probe["omp_launch"] == probe["omp_before"] == "2"
    assert probe["config_launch"] is None  # a child makes its own folder


@pytest.mark.parametrize("policy", ["auto", "true", "false"])
def test_the_amp_check_is_ours_and_offline(policy: str) -> None:
    """Inside training the package's check_amp (which downloads yolo26n.pt on CUDA) is ours: on
    CPU never AMP; the package's own is back afterwards."""
    from ultralytics.engine import trainer

    from ablation.engines.ultralytics.train import amp_check

    original, decisions = trainer.check_amp, []
    model = ENG.build_model(ENG.model_yaml("yolo11n"), nc=5)
    with amp_check(policy, lambda amp, reason: decisions.append((amp, reason))):
        assert trainer.check_amp is not original
        assert trainer.check_amp(model) is False
    assert trainer.check_amp is original
    assert decisions[-1][0] is False and "CUDA" in decisions[-1][1]


def test_the_autocast_self_check_compares_normalised_outputs() -> None:
    import math

    from ablation.engines.ultralytics.train import autocast_difference

    model = ENG.build_model(ENG.model_yaml("yolo11n"), nc=5)
    worst = autocast_difference(model, size=64)  # CPU autocast (bfloat16): finite, boxes on a 0-1 scale
    assert math.isfinite(worst) and 0 <= worst < 1


def test_strict_determinism_raises_where_the_package_would_warn() -> None:
    import torch

    from ablation.engines.ultralytics.train import strict_determinism

    try:
        with strict_determinism(True):
            torch.use_deterministic_algorithms(True, warn_only=True)  # what the package's init_seeds calls
            assert torch.is_deterministic_algorithms_warn_only_enabled() is False
        with strict_determinism(False):
            torch.use_deterministic_algorithms(True, warn_only=True)
            assert torch.is_deterministic_algorithms_warn_only_enabled() is True
    finally:
        torch.use_deterministic_algorithms(False)
