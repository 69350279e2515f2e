"""Planning with ``train.weights``: the checkpoint is checked against the base model before
anything trains, and every config gets its own start checkpoint (one per config, seeds share it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checkpoints import plan_with, random_base, save_like_upstream


@pytest.fixture(scope="module")
def yolov5n_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_like_upstream(random_base("yolov5n", 3), tmp_path_factory.mktemp("ckpt") / "yolov5n.pt")


def test_a_checkpoint_of_another_model_is_every_rows_error(tmp_path: Path) -> None:
    other = save_like_upstream(random_base("yolov5s", 3), tmp_path / "yolov5s.pt")
    rows = plan_with(other, tmp_path / "plan", "attention=se", "placement=before_sppf")
    assert [r.name for r in rows] == ["yolov5n-none", "yolov5n-se-before_sppf"]
    assert {r.error for r in rows} == {
        f"checkpoint {other} does not match model yolov5n (layer 0: model.0.conv.weight is [32, 3, 6, 6] in the "
        "checkpoint, [16, 3, 6, 6] in yolov5n); pass a checkpoint of the base model."
    }
    assert not list((tmp_path / "plan").glob("*.pt"))


def test_each_config_gets_its_transferred_checkpoint(yolov5n_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    rows = plan_with(yolov5n_checkpoint, out, "attention=se", "placement=before_sppf,neck", "seed=0,1", config="run")
    assert [(r.name, r.weights_transferred, r.error) for r in rows] == [
        ("yolov5n-none", "342/349", ""),
        ("yolov5n-se-before_sppf", "342/349", ""),
        ("yolov5n-se-neck", "342/349", ""),
    ]  # the synthetic set has 5 classes, the checkpoint 3: Detect's 6 convolution tensors and the anchors stay
    for row in rows:
        assert (out / row.weights).is_file() and row.weights == f"{row.name}.pt"
        assert (out / f"{row.name}.weights.txt").read_text().startswith("# 342/349 base tensors transferred")


def test_a_missing_checkpoint_is_an_error_of_the_plan(tmp_path: Path) -> None:
    rows = plan_with(tmp_path / "nowhere.pt", tmp_path / "plan")
    assert (
        rows[0].error
        == f"checkpoint {tmp_path / 'nowhere.pt'} not found; pass train.weights=/absolute/path/to/base.pt."
    )
