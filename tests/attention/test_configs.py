"""``conf/attention/<name>.yaml`` is the single source of a module's defaults: it names a
registered module and lists every constructor argument at the constructor's default."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ablation.attention import ATTENTION

CONF = Path(__file__).resolve().parents[2] / "ablation" / "conf" / "attention"


@pytest.mark.parametrize("name", ATTENTION.names())
def test_every_module_has_a_config_with_its_constructor_defaults(name: str) -> None:
    cfg = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}.yaml"))
    assert cfg["name"] == name
    params = list(inspect.signature(ATTENTION.get(name).cls.__init__).parameters.values())[2:]
    assert (cfg.get("kwargs") or {}) == {p.name: p.default for p in params}
