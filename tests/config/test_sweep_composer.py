"""One grid composed with one shared file cache equals Hydra's own compositions, config for config."""

from __future__ import annotations

import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import OmegaConf

from ablation.config.compose import CONF_DIR, sweep_composer

JOBS = [
    ["attention=se", "placement=neck", "model=yolov5n"],
    ["attention=none", "model=yolov5s"],
    ["attention=cbam", "placement=c3_inside", "model=yolov5s", "attention.kwargs.spatial_bn=true"],
    ["experiment=demo", "attention=eca", "placement=after_c3", "train.epochs=2"],
    ["attention=se", "placement=neck", "model=yolov5n", "seed=3"],
    ["experiment=demo", "attention=simam", "placement=before_sppf"],
]


def test_the_grid_equals_hydras_compositions() -> None:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("run", [], run_mode=RunMode.MULTIRUN)
        expected = [OmegaConf.to_yaml(loader.load_sweep_config(master, job)) for job in JOBS]
        compose = sweep_composer(loader, master)
        assert [OmegaConf.to_yaml(compose(job)) for job in JOBS] == expected
        assert [OmegaConf.to_yaml(compose(job)) for job in reversed(JOBS)] == expected[::-1]
        with pytest.raises(HydraException, match="Could not find 'attention/nope'"):
            compose(["attention=nope"])
        assert not hasattr(loader, "__dict__") or "_parse_overrides_and_create_caching_repo" not in vars(loader)
        assert OmegaConf.to_yaml(loader.load_sweep_config(master, JOBS[0])) == expected[0]
    GlobalHydra.instance().clear()
