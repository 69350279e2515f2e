"""Pretrained weights across the surgery: every base tensor lands in its own layer, bit-equal;
inserted modules keep their initialisation; upstream's train-time loading keeps exactly these."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from ablation.engines.yolov5 import compat
from ablation.engines.yolov5.dialect import YOLOV5
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.preflight import build_model
from ablation.plan.surgery import ModelSpec, Placement, SurgeryResult, apply
from ablation.plan.surgery.weights import (
    ANCHORS,
    BaseWeights,
    CheckpointError,
    Transfer,
    check_base,
    layer_of,
    read_checkpoint,
    transfer_weights,
)
from tests.checkpoints import random_base, save_like_upstream

BASE_NC, DATA_NC = 3, 5
DETECT = 24  # yolov5n's Detect index
PLACEMENTS = [
    {"name": "before_sppf"},
    {"name": "after_c3"},  # several insertions
    {"name": "neck"},
    {"name": "custom", "after": [4]},  # where upstream's name matching puts SPPF's cv1 into a C3
    {"name": "c3_inside", "point": "bottleneck_in", "scope": "all"},
]
P6, P6_DETECT = "yolov5n6", 33
P6_LAYERS = (9, 10, 11, 30, 32)  # P6/64: downsample, C3, SPPF; head: downsample, C3
P6_PLACEMENTS = [
    {"name": "neck"},  # four insertions, one on the P6 output
    {"name": "custom", "after": [10]},  # between the P6 C3 and SPPF
    {"name": "c3_inside", "point": "concat", "scope": "all"},
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, torch.Tensor], Path]:
    model = random_base("yolov5n", BASE_NC)
    path = save_like_upstream(model, tmp_path_factory.mktemp("ckpt") / "base.pt")
    return {k: v.clone() for k, v in model.state_dict().items()}, path


@pytest.fixture(scope="module")
def checked(base: tuple[dict[str, torch.Tensor], Path]) -> BaseWeights:
    return check_base(read_checkpoint(base[1]), model_yaml("yolov5n"), str(base[1]), "yolov5n", YOLOV5)


def surgery(placement: dict, tmp_path: Path, model: str = "yolov5n") -> tuple[SurgeryResult, Path]:
    result = apply(ModelSpec.load(model_yaml(model), YOLOV5), "se", {}, Placement.from_config(placement))
    return result, result.spec.write(tmp_path / "new.yaml")


def start_like_upstream(checkpoint: Path, yaml: Path, nc: int) -> tuple[dict, dict, set[str]]:
    """What upstream's train.py does with ``weights=`` and ``cfg=`` (a fresh model, then its
    ``intersect_dicts`` without anchors, non-strict load): the state before and after, the keys taken."""
    from yolov5.utils.general import intersect_dicts

    model = build_model(yaml, nc)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    with compat.trusted_checkpoints(checkpoint.parent):
        ckpt = torch.load(checkpoint, map_location="cpu")
    taken = intersect_dicts(ckpt["model"].float().state_dict(), model.state_dict(), exclude=["anchor"])
    model.load_state_dict(taken, strict=False)
    return fresh, model.state_dict(), set(taken)


@pytest.mark.parametrize("placement", PLACEMENTS, ids=lambda p: Placement.from_config(p).label)
def test_every_base_tensor_lands_in_its_new_layer_bit_equal(
    placement: dict, base: tuple[dict[str, torch.Tensor], Path], checked: BaseWeights, tmp_path: Path
) -> None:
    state, _ = base
    record = transferred_like_upstream(surgery(placement, tmp_path), state, checked, DATA_NC, tmp_path)
    assert record.count == f"{len(state) - 7}/{len(state)}"  # Detect: 6 convolution tensors + anchors
    assert {layer_of(k) for k in record.skipped} == {DETECT}


@pytest.fixture(scope="module")
def p6_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, torch.Tensor], BaseWeights]:
    model = random_base(P6, BASE_NC)
    path = save_like_upstream(model, tmp_path_factory.mktemp("ckpt") / "p6.pt")
    return {k: v.clone() for k, v in model.state_dict().items()}, check_base(
        read_checkpoint(path), model_yaml(P6), str(path), P6, YOLOV5
    )


@pytest.mark.parametrize("placement", P6_PLACEMENTS, ids=lambda p: Placement.from_config(p).label)
def test_a_p6_model_s_tensors_land_in_their_new_layers_bit_equal(
    placement: dict, p6_base: tuple[dict[str, torch.Tensor], BaseWeights], tmp_path: Path
) -> None:
    state, checked = p6_base
    result, yaml = surgery(placement, tmp_path, P6)
    record = transferred_like_upstream((result, yaml), state, checked, DATA_NC, tmp_path)
    assert record.count == f"{len(state) - 9}/{len(state)}"  # Detect at 4 scales: 8 convolution tensors + anchors
    assert {layer_of(k) for k in record.skipped} == {P6_DETECT}
    assert record.skipped[f"model.{P6_DETECT}.m.3.weight"].startswith(
        "shape [24, 256, 1, 1] in the checkpoint, [30, 256, 1, 1]"
    )
    for layer in P6_LAYERS:  # the P6 stage of backbone and head, every tensor of it
        keys = [k for k in state if layer_of(k) == layer]
        assert keys and all(record.moved[f"model.{result.index_map[layer]}.{k.split('.', 2)[2]}"] == k for k in keys)


def test_a_p6_detect_of_the_same_class_count_moves_whole(
    p6_base: tuple[dict[str, torch.Tensor], BaseWeights], tmp_path: Path
) -> None:
    state, checked = p6_base
    result, yaml = surgery({"name": "neck"}, tmp_path, P6)  # SE after 23, 26, 29 and 32: Detect 33 -> 37
    record = transferred_like_upstream((result, yaml), state, checked, BASE_NC, tmp_path)
    assert result.index_map[P6_DETECT] == P6_DETECT + 4 and record.count == f"{len(state) - 1}/{len(state)}"
    assert record.moved[f"model.{P6_DETECT + 4}.m.3.weight"] == f"model.{P6_DETECT}.m.3.weight"


def transferred_like_upstream(
    surgery_result: tuple[SurgeryResult, Path],
    state: dict[str, torch.Tensor],
    checked: BaseWeights,
    nc: int,
    tmp_path: Path,
) -> Transfer:
    """Transfer, then start the way upstream's train.py does: upstream keeps exactly the remapped
    tensors, each bit-equal to its source in its own layer; every other tensor keeps its own init."""
    result, yaml = surgery_result
    record = transfer_weights(checked, result.index_map, yaml, nc, tmp_path / "start.pt")
    fresh, trained, taken = start_like_upstream(tmp_path / "start.pt", yaml, nc)
    assert taken == set(record.moved)
    for new_key, old_key in record.moved.items():
        assert layer_of(new_key) == result.index_map[layer_of(old_key)]  # its own layer, never another
        assert new_key.split(".", 2)[2] == old_key.split(".", 2)[2]  # the same tensor of that layer
        assert torch.equal(trained[new_key], state[old_key]), new_key
    for key in set(trained) - taken:  # inserted modules, attention inside C3Attn, Detect: their own init
        assert torch.equal(trained[key], fresh[key]), key
    detect = result.index_map[max(map(layer_of, state))]
    own = {k for k in set(trained) - taken if layer_of(k) != detect}  # SE's tensors: none from the base
    assert own and all(layer_of(k) in result.inserted or ".attn." in k for k in own)
    return record


def test_c3_inside_keeps_every_c3_tensor_and_the_attention_its_init(checked: BaseWeights, tmp_path: Path) -> None:
    result, yaml = surgery({"name": "c3_inside", "point": "concat", "scope": "all"}, tmp_path)
    record = transfer_weights(checked, result.index_map, yaml, DATA_NC, tmp_path / "start.pt")
    new_keys = set(build_model(yaml, DATA_NC).state_dict())
    assert all(new == old for new, old in record.moved.items())  # C3Attn keeps C3's keys
    attention = new_keys - set(checked.state)
    assert attention and all(".attn." in k for k in attention) and not attention & set(record.moved)


def test_same_class_count_transfers_detect_but_keeps_the_new_anchors(
    base: tuple[dict[str, torch.Tensor], Path], tmp_path: Path
) -> None:
    state, path = base
    result, yaml = surgery({"name": "before_sppf"}, tmp_path)
    checked = check_base(read_checkpoint(path), model_yaml("yolov5n"), str(path), "yolov5n", YOLOV5)
    record = transfer_weights(checked, result.index_map, yaml, BASE_NC, tmp_path / "start.pt")
    assert record.count == f"{len(state) - 1}/{len(state)}"
    assert record.skipped == {f"model.{DETECT}.anchors": ANCHORS}
    assert record.moved[f"model.{DETECT + 1}.m.0.weight"] == f"model.{DETECT}.m.0.weight"


def test_detect_tensors_of_another_class_count_are_listed_with_their_shapes(
    checked: BaseWeights, tmp_path: Path
) -> None:
    result, yaml = surgery({"name": "before_sppf"}, tmp_path)
    record = transfer_weights(checked, result.index_map, yaml, DATA_NC, tmp_path / "start.pt")
    why = record.skipped[f"model.{DETECT}.m.0.weight"]
    assert why == (
        "shape [24, 64, 1, 1] in the checkpoint, [30, 64, 1, 1] in the new model "
        "(Detect: 3 classes in the checkpoint, 5 in the new model)"
    )
    text = record.report().splitlines()
    assert text[0] == f"# {record.count} base tensors transferred; not transferred (7):"
    assert f"model.{DETECT}.m.0.weight\t{why}" in text
    assert "model.9.cv1.conv.weight -> model.10.cv1.conv.weight" in text  # SPPF moved behind SE


def test_upstreams_name_matching_alone_loads_sppf_into_a_c3(
    base: tuple[dict[str, torch.Tensor], Path], tmp_path: Path
) -> None:
    """Why the remap exists: after SE after layer 4, name+shape matching fills layer 9 (now a C3)
    with SPPF tensors; the remap never does."""
    from yolov5.utils.general import intersect_dicts

    state, _ = base
    result, yaml = surgery({"name": "custom", "after": [4]}, tmp_path)
    new = build_model(yaml, BASE_NC).state_dict()
    wrong = {
        k
        for k in intersect_dicts(state, new, exclude=["anchor"])
        if state[k].dim() and layer_of(k) not in (0, 1, 2, 3, 4)
    }
    assert "model.9.cv1.conv.weight" in wrong  # SPPF's cv1 [128, 256, 1, 1] into the C3 now at 9


@pytest.mark.parametrize("form", ["stripped", "during_training", "state_dict"])
def test_upstream_checkpoints_and_state_dicts_read_alike(
    form: str, base: tuple[dict[str, torch.Tensor], Path], tmp_path: Path
) -> None:
    state, _ = base
    model = random_base("yolov5n", BASE_NC)
    path = tmp_path / "w.pt"
    if form == "state_dict":
        torch.save(model.state_dict(), path)
    else:
        save_like_upstream(model, path, during_training=form == "during_training")
    read = read_checkpoint(path)
    assert read.keys() == state.keys() and all(torch.equal(read[k], state[k]) for k in state)
    assert all(v.dtype != torch.float16 for v in read.values())


def test_a_checkpoint_of_another_model_is_refused(tmp_path: Path) -> None:
    path = save_like_upstream(random_base("yolov5s", 80), tmp_path / "s.pt")
    with pytest.raises(
        CheckpointError,
        match=re.escape(
            f"checkpoint {path} does not match model yolov5n (layer 0: model.0.conv.weight is [32, 3, 6, 6] in the "
            "checkpoint, [16, 3, 6, 6] in yolov5n); pass a checkpoint of the base model."
        ),
    ):
        check_base(read_checkpoint(path), model_yaml("yolov5n"), str(path), "yolov5n", YOLOV5)


def test_a_checkpoint_of_a_modified_model_is_refused(tmp_path: Path) -> None:
    result, yaml = surgery({"name": "before_sppf"}, tmp_path)
    torch.save(build_model(yaml, BASE_NC).state_dict(), tmp_path / "se.pt")
    with pytest.raises(
        CheckpointError, match=r"^checkpoint \S+se\.pt does not match model yolov5n \(layer 9: model\.9\.\S+ is "
    ):
        check_base(
            read_checkpoint(tmp_path / "se.pt"), model_yaml("yolov5n"), str(tmp_path / "se.pt"), "yolov5n", YOLOV5
        )


def test_unreadable_and_missing_files_are_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "bad.pt").write_text("not a checkpoint")
    with pytest.raises(
        CheckpointError,
        match=r"^cannot read checkpoint \S+bad\.pt \(UnpicklingError: .*\); pass a file saved by torch\.save",
    ):
        read_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"^checkpoint \S+none\.pt not found; pass train\.weights=/absolute/path"):
        read_checkpoint(tmp_path / "none.pt")
    torch.save({"epoch": 3}, tmp_path / "odd.pt")
    with pytest.raises(CheckpointError, match=r"holds neither a model nor a state dict \(epoch\)"):
        read_checkpoint(tmp_path / "odd.pt")


def test_the_start_checkpoint_is_a_fresh_start(checked: BaseWeights, tmp_path: Path) -> None:
    result, yaml = surgery({"name": "neck"}, tmp_path)
    transfer_weights(checked, result.index_map, yaml, DATA_NC, tmp_path / "start.pt")
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(tmp_path / "start.pt")  # a pickled module: only where the run trusts it
    with compat.trusted_checkpoints(tmp_path):
        ckpt = torch.load(tmp_path / "start.pt")
    assert (ckpt["epoch"], ckpt["optimizer"], ckpt["ema"], ckpt["best_fitness"]) == (-1, None, None, None)
    # unpickling needs torch only; the layers are an nn.Sequential, as ultralytics' loader indexes them
    assert {type(m) for m in ckpt["model"].modules()} == {torch.nn.Module, torch.nn.Sequential}
    assert type(ckpt["model"].model) is torch.nn.Sequential
