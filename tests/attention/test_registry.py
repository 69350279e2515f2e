"""The attention registry: one name → one class, duplicates and bad arguments refused in one sentence."""

from __future__ import annotations

import sys

import pytest
from torch import nn

from ablation.attention import ATTENTION, Registry


def registry_with_one() -> Registry:
    reg = Registry("attention")

    @reg.register("gate", paper="test")
    class Gate(nn.Module):
        def __init__(self, channels: int, reduction: int = 4, *, scale: float) -> None:
            super().__init__()
            self.channels, self.reduction, self.scale = channels, reduction, scale

    return reg


def test_duplicate_name_is_refused() -> None:
    reg = registry_with_one()
    with pytest.raises(KeyError, match=r"attention 'gate' \(Other\) is already registered as 'gate'"):
        reg.register("gate", paper="test")(type("Other", (nn.Module,), {}))
    assert len(reg) == 1


def test_duplicate_class_name_is_refused() -> None:
    # upstream's parse_model resolves classes by name: two classes called Gate would shadow each other
    reg = registry_with_one()
    with pytest.raises(KeyError, match=r"attention 'gate2' \(Gate\) is already registered as 'gate'"):
        reg.register("gate2", paper="test")(type("Gate", (nn.Module,), {}))


def test_lookup_by_name_or_class_name_and_unknown_names() -> None:
    reg = registry_with_one()
    assert reg.get("gate") is reg.get("Gate")
    with pytest.raises(KeyError, match=r"unknown attention 'gat'; choose one of: gate\."):
        reg.get("gat")


def test_arguments_in_constructor_order_with_defaults() -> None:
    entry = registry_with_one().get("gate")
    assert entry.positional_args(64, {"scale": 0.5}) == [64, 4, 0.5]
    with pytest.raises(TypeError, match=r"attention 'gate' has no argument 'ratio'; it accepts: reduction, scale\."):
        entry.positional_args(64, {"ratio": 2, "scale": 1.0})
    with pytest.raises(TypeError, match=r"attention 'gate' needs a value for scale\."):
        entry.positional_args(64, {})


def test_every_shipped_module_cites_its_paper_and_builds_from_channels_alone() -> None:
    assert len(ATTENTION) >= 14
    for entry in ATTENTION:
        assert entry.paper and sys.modules[entry.cls.__module__].__doc__, entry.name  # the file cites the paper
        module = ATTENTION.build(entry.name, 64)
        assert isinstance(module, entry.cls)
