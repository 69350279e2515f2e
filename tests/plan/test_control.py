"""control=width: the wider baselines, their width search, identity, seeds and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablation.config.grid import ConfigError, expand, extend
from ablation.engines import engine
from ablation.plan.control import ControlError, Counter, Match, candidates, search, with_controls
from ablation.plan.planner import NOT_TRANSFERRED, plan
from ablation.plan.surgery import ModelSpec
from ablation.plan.surgery.channels import output_channels
from ablation.plan.surgery.widen import breakpoints, widen, widened_width, width_layers
from tests.checkpoints import random_base, save_like_upstream


def spec_of(model: str, engine_name: str = "yolov5") -> ModelSpec:
    eng = engine(engine_name)
    return ModelSpec.load(eng.model_yaml(model), eng.dialect)


def small_grid(tmp_path: Path, *args: str) -> list[str]:
    return [
        "model=yolov5n",
        "placement=neck",
        "preflight.workers=1",
        "data.train=16",
        "data.val=8",
        f"data.root={tmp_path / 'datasets'}",
        *args,
    ]


def test_widths_round_to_the_nearest_multiple_of_eight_never_below_their_own() -> None:
    assert [widened_width(256, f) for f in (1.0, 1.015, 1.0157, 1.05, 1.1)] == [256, 256, 264, 272, 280]
    assert [widened_width(16, f) for f in (1.2, 1.25, 1.5)] == [16, 24, 24]
    spec = spec_of("yolov5n.yaml")
    assert widen(spec, 1.0).to_dict()["backbone"][0][3][0] == 16 and widen(spec, 1.0).header["width_multiple"] == 1.0
    wide = widen(spec, 1.04)
    before, after = width_layers(spec), width_layers(wide)
    assert after[9] == 264 and after[0] == 16  # the widest layers widen first; the stem keeps 16
    assert all(after[i] == widened_width(w, 1.04) for i, w in before.items())
    assert output_channels(wide)[9] == 264  # the engine's width rule leaves the written widths as they are
    # breakpoints are where a layer's width changes; a factor between two of them is one model
    points = breakpoints(spec, 1.1)
    assert points[0] == pytest.approx(260 / 256) and all(a < b for a, b in zip(points, points[1:]))
    assert all(p < c < q for p, c, q in zip(points, candidates(spec, 1.1), [*points[1:], 1.1 + 1e-9]))


def test_the_search_finds_the_nearest_step_of_a_step_function() -> None:
    spec = spec_of("yolov5n.yaml")

    def count(wide: ModelSpec) -> float:  # monotone in the factor, a step function like GFLOPs
        return float(sum(w * w for w in width_layers(wide).values()))

    every = [count(widen(spec, f)) for f in candidates(spec)]
    base = count(spec)
    for rise in (1.01, 1.05, 1.2, 2.0):
        factor, reached = search(spec, base * rise, count, base)
        assert reached == min(every, key=lambda v: abs(v / (base * rise) - 1))
        assert count(widen(spec, factor)) == reached


def test_the_width_search_hits_plus_5_and_12_percent_for_yolov5n(tmp_path: Path) -> None:
    spec = spec_of("yolov5n.yaml")
    count = Counter("yolov5", 3, 640, tmp_path)
    base = count(spec)
    assert base == pytest.approx(4.137, abs=0.01)
    # upstream's own width multiple cannot: the first step above 0.25 widens every layer by 8 channels
    coarse = dict(spec.header, width_multiple=0.2501)
    assert count(ModelSpec(coarse, spec.layers, spec.dialect)) / base - 1 == pytest.approx(0.263, abs=0.01)
    for rise, factor in ((1.05, 1.04), (1.12, 1.07)):
        found, reached = search(spec, base * rise, count, base)
        assert found == factor
        assert abs(reached / (base * rise) - 1) <= 0.02


def test_ultralytics_widens_through_its_scales_table(tmp_path: Path) -> None:
    spec = spec_of("yolo11n.yaml", "ultralytics")
    wide = widen(spec, 1.06)
    assert wide.header["scales"]["n"] == [0.5, 1.0, 1024]  # depth kept, widths as written, cap kept
    model = engine("ultralytics").build_model(wide.write(tmp_path / "yolo11n-wide.yaml"), 3)
    assert model.model[4].cv2.conv.out_channels == width_layers(wide)[4] == 136


def test_the_planner_adds_wider_baselines_with_every_seed(tmp_path: Path) -> None:
    plain = expand("plan", small_grid(tmp_path, "attention=psa", "seed=0,1"))
    entries, matches = with_controls(
        expand("plan", small_grid(tmp_path, "attention=psa", "seed=0,1", "control=width", "preflight.enabled=false")),
        "plan",
    )
    assert [m.role for m in matches] == ["median and max"]
    match = matches[0]
    assert abs(match.error) <= 0.02 and match.factor > 1
    controls = [e for e in entries if e.control]
    assert sorted(e.seed for e in controls) == [0, 1]
    assert {e.name for e in controls} == {f"yolov5n-width-x{match.factor:g}"}
    base = {e.seed: e for e in entries if e.is_baseline}
    for e in controls:
        assert e.baseline_hash == base[e.seed].config_hash and e.config_hash != base[e.seed].config_hash
        assert f"++model.widen={match.factor:g}" in e.overrides and not e.is_baseline
    # control=width is not part of any identity: a rerun skips what finished without it
    assert {e.config_hash for e in plain} == {e.config_hash for e in entries if not e.control}
    again = extend("plan", plain, [list(e.overrides) for e in controls])  # a rerun composes them again
    assert [e.config_hash for e in again] == [e.config_hash for e in entries]
    rows = {r.name: r for r in plan(controls[:1], tmp_path / "plan", entries[0].cfg.preflight)}
    assert rows[controls[0].name].gflops == pytest.approx(match.gflops)


def test_a_wider_baseline_does_not_take_the_base_checkpoint(tmp_path: Path) -> None:
    weights = save_like_upstream(random_base("yolov5n", 3), tmp_path / "yolov5n.pt")
    args = small_grid(tmp_path, "attention=none", f"train.weights={weights}", "preflight.enabled=false")
    entries = expand("plan", [*args, "++model.widen=1.04"]) + expand("plan", args)
    rows = {r.name: r for r in plan(entries, tmp_path / "plan", entries[0].cfg.preflight)}
    assert (
        rows["yolov5n-width-x1.04"].weights_transferred == NOT_TRANSFERRED and not rows["yolov5n-width-x1.04"].weights
    )
    assert rows["yolov5n-none"].weights_transferred.endswith("/349")


def test_unknown_control_and_misplaced_widen_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"control must be one of: none, width\.$"):
        expand("plan", ["control=depth"])
    with pytest.raises(ConfigError, match=r"^model.widen=1.1 widens a baseline only; drop it or use attention=none\.$"):
        expand("plan", ["attention=se", "++model.widen=1.1"])
    with pytest.raises(ControlError, match=r"^control=width needs every config trained with every seed"):
        with_controls(expand("plan", ["attention=se", "control=width", "seed=0,1,2", "adaptive.enabled=true"]), "plan")


def test_an_unreachable_target_is_refused() -> None:
    spec = spec_of("yolov5n.yaml")
    factor, reached = search(spec, 1000.0, lambda s: float(max(width_layers(s).values())), base=256.0, highest=1.1)
    assert factor < 1.1 and reached == 280  # the widest model searched, far below the target
    far = Match("yolov5n", "max", 4.137, 5.0, 1.04, 4.371)
    with pytest.raises(
        ControlError,
        match=r"^control=width cannot reach 5.000 GFLOPs for yolov5n \(max of its attention configs\) within "
        r"±2%: the nearest wider model has 4.371 \(-12.6%\); drop control=width for this grid\.$",
    ):
        far.check(0.02)
    Match("yolov5n", "max", 4.137, 4.4, 1.04, 4.371).check(0.02)  # -0.7 %: kept
