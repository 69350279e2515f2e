"""The command lines, all Hydra apps over ``conf/`` with the same override syntax.

``ablation.run`` and ``ablation.plan`` take a grid (comma lists sweep, no ``--multirun``): the
grid's first config is composed and its options checked (``grid.check_first``) before Hydra
starts, because Hydra, when a multirun config fails to compose, silently falls back to a single
run and blames the comma ("Ambiguous value ... add --multirun"); we say what is really wrong, with
exit 2. The sweeper then expands the whole grid, once, and checks every config's options. ``ablation.export`` and ``ablation.report`` are single runs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig

from ablation.config.compose import CONF_DIR, ConfigError


def launch(config_name: str, task: Callable[[DictConfig], Any], grid: bool = True) -> None:
    """Run ``task`` as the Hydra app of ``conf/<config_name>.yaml`` on ``sys.argv``."""
    import hydra

    args = sys.argv[1:]
    flags = [a for a in args if a.startswith("-") and a not in ("-m", "--multirun")]
    if grid and not flags:  # not --help, --cfg, ...
        try:
            importlib.import_module("ablation.attention")  # and the ABLATION_PLUGINS modules: PluginError
            from ablation.config.grid import check_first

            first = check_first(config_name, [a for a in args if not a.startswith("-")])
            if config_name == "run":  # its first training child imports while the grid is planned
                from ablation.engines import engine_of
                from ablation.train.isolate import CHILDREN

                CHILDREN.prestart(engine_name=engine_of(first).name)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
    app = hydra.main(config_path=str(CONF_DIR), config_name=config_name, version_base="1.3")(task)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)  # recorded already: the config as KILLED, the sweep as KILLED
