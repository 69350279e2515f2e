"""c3_inside on ultralytics models: C2f/C3k2 rows become C2fAttention/C3k2Attention, which the
package builds (after the engine's registration) as the plain model plus the attention modules."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ablation.attention import ATTENTION
from ablation.engines import engine
from ablation.plan.surgery import ModelSpec, Placement, apply

ENG = engine("ultralytics")
HOSTS = {"yolo11n": "C3k2", "yolov8n": "C2f", "yolo26n": "C3k2"}
CASES = [(m, a) for m in HOSTS for a in ("se", "simam", "cbam")]


def params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def plain_build(yaml_path: Path) -> torch.nn.Module:
    """The package's own DetectionModel of the yaml's dict, after the documented registration call."""
    import yaml

    ENG.setup()
    from ultralytics.nn.tasks import DetectionModel

    return DetectionModel(yaml.safe_load(yaml_path.read_text()), ch=3, verbose=False)


@pytest.fixture(scope="module")
def bases() -> dict[str, tuple[ModelSpec, torch.nn.Module]]:
    built = {}
    for name in HOSTS:
        path = ENG.model_yaml(name)
        built[name] = (ModelSpec.load(path, ENG.dialect), ENG.build_model(path))
    return built


def attention_params(name: str, widths: list[int]) -> int:
    entry = ATTENTION.get(name)
    return sum(params(entry.cls(*entry.positional_args(c, {}))) for c in widths)


@pytest.mark.parametrize(("model", "attention"), CASES, ids=[f"{m}-{a}" for m, a in CASES])
def test_planned_block_builds_as_the_plain_model_plus_attention(
    model: str, attention: str, bases: dict[str, tuple[ModelSpec, torch.nn.Module]], tmp_path: Path
) -> None:
    spec, base = bases[model]
    result = apply(spec, attention, {}, Placement.from_config({"name": "c3_inside"}))
    hosts = [i for i, layer in enumerate(spec.layers) if layer.module == HOSTS[model]]
    assert hosts and [result.spec.layers[i].module for i in hosts] == [f"{HOSTS[model]}Attention"] * len(hosts)
    built = plain_build(result.spec.write(tmp_path / f"{model}-{attention}-c3_inside.yaml"))
    # the attention sits on the bottleneck input: the host's hidden width c, one per host layer
    widths = [base.model[i].c for i in hosts]
    assert params(built) == params(base) + attention_params(attention, widths)
    assert params(built) == params(ENG.build_model(tmp_path / f"{model}-{attention}-c3_inside.yaml"))
    # every tensor of the plain model has its name and shape; the new ones are the attention's
    ours, plain = built.state_dict(), base.state_dict()
    assert {k: v.shape for k, v in plain.items()} == {k: ours[k].shape for k in plain}
    assert all(k.split(".")[2] == "attn" and int(k.split(".")[1]) in hosts for k in set(ours) - set(plain))
    assert [type(built.model[i]).__name__ for i in hosts] == [f"{HOSTS[model]}Attention"] * len(hosts)
    assert built.model[hosts[0]].type.endswith(f"csp_attn.{HOSTS[model]}Attention")
    base.eval()
    built.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert built(x)[0].shape == base(x)[0].shape


@pytest.mark.parametrize("point", ["bottleneck_in", "skip_in", "concat"])
def test_each_point_has_its_documented_width(
    point: str, bases: dict[str, tuple[ModelSpec, torch.nn.Module]], tmp_path: Path
) -> None:
    spec, base = bases["yolo11n"]
    result = apply(spec, "se", {}, Placement.from_config({"name": "c3_inside", "point": point, "scope": "backbone"}))
    hosts = [i for i in spec.section_indices("backbone") if spec.layers[i].module == "C3k2"]
    assert hosts == [2, 4, 6, 8]
    built = ENG.build_model(result.spec.write(tmp_path / f"yolo11n-se-{point}.yaml"))
    hidden = [base.model[i].c for i in hosts]
    widths = [(2 + len(base.model[i].m)) * c for i, c in zip(hosts, hidden)] if point == "concat" else hidden
    assert params(built) == params(base) + attention_params("se", widths)
    assert [type(built.model[i]).__name__ for i in range(11, len(built.model))] == [
        type(base.model[i]).__name__ for i in range(11, len(base.model))
    ]  # the neck keeps its plain C3k2 blocks


@pytest.mark.parametrize("host", ["C2f", "C3k2"])
@pytest.mark.parametrize("point", ["bottleneck_in", "skip_in", "concat"])
def test_with_an_identity_attention_the_block_computes_as_the_package_s(host: str, point: str) -> None:
    ENG.setup()
    from ultralytics.nn.modules import block as package

    from ablation.engines.ultralytics.csp_attn import BLOCKS

    torch.manual_seed(0)
    plain = getattr(package, host)(16, 32, 2).eval()
    ours = BLOCKS[f"{host}Attention"].around(plain, "simam", point)
    ours.attn = torch.nn.Identity()
    x = torch.rand(2, 16, 8, 8)
    with torch.no_grad():
        assert torch.equal(ours(x), plain(x)) and torch.equal(ours.forward_split(x), plain(x))
    assert set(ours.state_dict()) == set(plain.state_dict())


def test_around_refuses_another_block() -> None:
    ENG.setup()
    from ultralytics.nn.modules.block import C2f

    from ablation.engines.ultralytics.csp_attn import C3k2Attention

    with pytest.raises(TypeError, match="C3k2Attention is built around a C3k2, got C2f"):
        C3k2Attention.around(C2f(8, 8), "se", "concat")


def test_the_m_scale_keeps_the_package_s_c3k_blocks(tmp_path: Path) -> None:
    """yolo11m: parse_model switches C3k2 to C3k inner blocks at the m/l/x scales; ours do too."""
    path = ENG.model_yaml("yolo11m")
    result = apply(ModelSpec.load(path, ENG.dialect), "simam", {}, Placement.from_config({"name": "c3_inside"}))
    built, base = ENG.build_model(result.spec.write(tmp_path / "yolo11m-simam.yaml")), ENG.build_model(path)
    assert {k: v.shape for k, v in built.state_dict().items()} == {k: v.shape for k, v in base.state_dict().items()}
    assert type(built.model[2].m[0]).__name__ == "C3k" and type(built.model[2]).__name__ == "C3k2Attention"


@pytest.mark.parametrize("model", ["yolov8n", "yolo11n"])
def test_the_placement_map_s_hosts_and_widths(model: str, bases: dict[str, tuple[ModelSpec, torch.nn.Module]]) -> None:
    """docs/engines.md: the host layers of scope all and their hidden widths at scale n."""
    spec, base = bases[model]
    hosts = Placement.from_config({"name": "c3_inside"}).replace_c3(spec)
    assert hosts == ([2, 4, 6, 8, 12, 15, 18, 21] if model == "yolov8n" else [2, 4, 6, 8, 13, 16, 19, 22])
    assert [base.model[i].c for i in hosts] == [16, 32, 64, 128, 64, 32, 64, 128]
    neck = Placement.from_config({"name": "c3_inside", "scope": "neck"}).replace_c3(spec)
    assert neck == hosts[4:]
