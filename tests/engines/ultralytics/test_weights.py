"""``train.weights`` on ultralytics models: a checkpoint saved as the package saves one carries
across the surgery by the index map; the package's own loader puts every tensor in its layer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ablation.data.synthetic import SyntheticSpec, ensure
from ablation.engines import engine
from ablation.plan.planner import PlanRow
from ablation.plan.surgery import ModelSpec, Placement, apply
from ablation.plan.surgery.weights import read_checkpoint
from tests.checkpoints import plan_with as shared_plan_with
from tests.checkpoints import randomized, save_like_ultralytics
from tests.engines.ultralytics.conftest import run_script

ENG = engine("ultralytics")
NC = 5  # the synthetic set's classes


def package_model(cfg: str | Path, nc: int) -> torch.nn.Module:
    """The plain package's DetectionModel (a shipped yaml name, or a planned yaml's dict)."""
    ENG.setup()
    from ultralytics.nn.tasks import DetectionModel

    if isinstance(cfg, Path):
        import yaml

        cfg = yaml.safe_load(cfg.read_text())
    return DetectionModel(cfg, nc=nc, verbose=False)


def plan_with(weights: Path, out: Path, *args: str) -> list[PlanRow]:
    return shared_plan_with(weights, out, *args, model="yolo11n")


@pytest.fixture(scope="module")
def yolo11n(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    """A yolo11n checkpoint as the package's trainer leaves best.pt, and its tensors (FP32)."""
    model = randomized(package_model("yolo11n.yaml", NC))
    path = save_like_ultralytics(model, tmp_path_factory.mktemp("ckpt") / "yolo11n.pt")
    return path, {k: v.half().float() if v.is_floating_point() else v for k, v in model.state_dict().items()}


@pytest.mark.parametrize("placement", ["after_c3", "c3_inside"])
def test_every_base_tensor_arrives_unchanged_in_the_planned_model(
    placement: str, yolo11n: tuple[Path, dict[str, torch.Tensor]], tmp_path: Path
) -> None:
    path, base = yolo11n
    rows = {r.name: r for r in plan_with(path, tmp_path, "attention=se", f"placement={placement}")}
    name = "yolo11n-se-after_c3" if placement == "after_c3" else "yolo11n-se-c3_inside-bottleneck_in-all"
    row = rows[name]
    assert len(base) == 499 and row.error == "" and row.weights_transferred == "499/499"
    report = (tmp_path / f"{name}.weights.txt").read_text().splitlines()
    assert report[0] == f"# {len(base)}/{len(base)} base tensors transferred; not transferred (0):"
    index_map = apply(
        ModelSpec.load(ENG.model_yaml("yolo11n"), ENG.dialect), "se", {}, Placement(kind=placement)
    ).index_map
    if placement == "after_c3":  # SE after base 2, 4, 6, 8: everything from 3 on moves
        assert [index_map[i] for i in (2, 3, 4, 8, 9, 23)] == [2, 4, 5, 11, 13, 27]
        moved = sum(1 for k in base if int(k.split(".")[1]) != index_map[int(k.split(".")[1])])
        assert report[1] == f"# moved to another index ({moved}), old -> new:"
    # the start checkpoint, loaded the way the package's trainer loads `pretrained`
    from ultralytics.nn.tasks import load_checkpoint

    planned = package_model(tmp_path / row.yaml, NC)
    fresh = {k: v.clone() for k, v in planned.state_dict().items()}
    weights, _ = load_checkpoint(tmp_path / row.weights)
    planned.load(weights, verbose=False)
    arrived = planned.state_dict()
    for key, value in base.items():
        layer = int(key.split(".")[1])
        new = f"model.{index_map[layer]}.{key.split('.', 2)[2]}"
        assert torch.equal(arrived[new], value), key
    untouched = set(arrived) - {f"model.{index_map[int(k.split('.')[1])]}.{k.split('.', 2)[2]}" for k in base}
    assert untouched and all(torch.equal(arrived[k], fresh[k]) for k in untouched)  # the attention's own


def test_a_checkpoint_with_other_classes_keeps_the_head_s_class_convolutions(tmp_path: Path) -> None:
    """The plain package's YOLO("yolo11n.yaml") (80 classes), saved during training (its EMA)."""
    ENG.setup()
    from ultralytics import YOLO

    model = randomized(YOLO("yolo11n.yaml").model)
    path = save_like_ultralytics(model, tmp_path / "yolo11n-80.pt", during_training=True)
    state = read_checkpoint(path, "ultralytics")
    assert ENG.dialect.checkpoint_classes(state, 23) == 80
    rows = {r.name: r for r in plan_with(path, tmp_path / "plan", "attention=se", "placement=before_sppf")}
    # Detect's class branch is max(64, min(nc, 100)) wide: at 80 classes every cv3 tensor but the
    # depthwise ones differs in shape from the planned head's (5 classes), and stays the new model's
    ours = package_model("yolo11n.yaml", NC).state_dict()
    differ = [k for k, v in model.state_dict().items() if v.shape != ours[k].shape]
    assert len(differ) == 51 and all(k.startswith("model.23.cv3.") for k in differ)
    total = len(model.state_dict())
    assert rows["yolo11n-se-before_sppf"].weights_transferred == f"{total - 51}/{total}"
    report = (tmp_path / "plan" / "yolo11n-se-before_sppf.weights.txt").read_text().splitlines()
    assert report[0] == f"# {total - 51}/{total} base tensors transferred; not transferred (51):"
    assert sorted(line.split("\t")[0] for line in report[1:52]) == sorted(differ)
    assert (
        "model.23.cv3.0.2.weight\tshape [80, 80, 1, 1] in the checkpoint, [5, 64, 1, 1] in the new model "
        "(Detect: 80 classes in the checkpoint, 5 in the new model)"
    ) in report


def test_a_checkpoint_of_another_scale_is_the_plan_s_error(tmp_path: Path) -> None:
    path = save_like_ultralytics(package_model("yolo11s.yaml", NC), tmp_path / "yolo11s.pt")
    rows = plan_with(path, tmp_path / "plan", "attention=se", "placement=neck")
    assert {r.error for r in rows} == {
        f"checkpoint {path} does not match model yolo11n (layer 0: model.0.conv.weight is [32, 3, 3, 3] in the "
        "checkpoint, [16, 3, 3, 3] in yolo11n); pass a checkpoint of the base model."
    }


@pytest.mark.slow  # trains one epoch in a subprocess
@pytest.mark.parametrize("placement", ["after_c3", "c3_inside"])
def test_the_trainer_starts_from_the_transferred_tensors(
    placement: str, yolo11n: tuple[Path, dict[str, torch.Tensor]], tmp_path: Path
) -> None:
    """The job's path: the plan's start checkpoint as the engine's ``weights`` option."""
    path, base = yolo11n
    rows = plan_with(path, tmp_path / "plan", "attention=se", f"placement={placement}")
    row = next(r for r in rows if r.attention == "se")
    data = ensure(tmp_path / "data", SyntheticSpec(train=16, val=8, imgsz=64, seed=0))
    plan_dir = tmp_path / "plan"
    out = run_script("pretrained", data, tmp_path / "train", plan_dir / row.yaml, plan_dir / row.weights, cwd=tmp_path)
    assert out["epochs"] == 1 and "Transferred 499/" in out["stderr"]
    start = torch.load(out["start"])
    index_map = apply(
        ModelSpec.load(ENG.model_yaml("yolo11n"), ENG.dialect), "se", {}, Placement(kind=placement)
    ).index_map
    for key, value in base.items():
        new = f"model.{index_map[int(key.split('.')[1])]}.{key.split('.', 2)[2]}"
        assert torch.equal(start[new], value), key
