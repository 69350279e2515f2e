"""The package's Hydra configs (``ablation/conf``) and composing them into one checked config:
every command (run, plan, export, report, track) starts here."""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig

from ablation.config.errors import ConfigError

__all__ = ["CONF_DIR", "ConfigError", "compose_checked", "compose_command", "explain", "sweep_composer"]

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"  # package data: ablation/conf


def compose_checked(config_name: str, overrides: list[str], with_hydra: bool = False) -> DictConfig:
    """Hydra's compose (inside ``initialize_config_dir``), its errors as one ``ConfigError`` sentence;
    ``with_hydra``: the ``hydra`` node (its launcher) kept."""
    try:
        return compose(config_name, overrides=overrides, return_hydra_config=with_hydra)
    except HydraException as err:
        raise ConfigError(explain(err)) from None


def sweep_composer(loader: Any, master: DictConfig) -> Callable[[list[str]], DictConfig]:
    """Hydra's ``load_sweep_config(master, overrides)`` for the configs of one grid, each config
    file read and parsed once for all of them.

    Hydra reads and parses every file again for each composition (and copies its repository):
    most of a grid's planning time. Here the parsed files are kept for the grid and each
    composition gets its own copies (a composition changes what it loads); the shared files are
    set on ``loader`` only while it composes, so the launcher's compositions are Hydra's own.
    The config search path is the grid's (``hydra.searchpath`` is not swept). Hydra is pinned
    exactly; a test compares a grid's configs with Hydra's."""
    from hydra._internal.config_repository import CachingConfigRepository
    from hydra.core.override_parser.overrides_parser import OverridesParser

    files = _ParsedOnce(loader.repository)
    searched: list[bool] = []

    def parse(config_name: str | None, overrides: list[str]) -> tuple[list[Any], CachingConfigRepository]:
        parsed = OverridesParser.create().parse_overrides(overrides=overrides)
        repo = CachingConfigRepository(files)  # type: ignore[arg-type]
        if not searched:
            loader._process_config_searchpath(config_name, parsed, repo)
            searched.append(True)
        return parsed, repo

    def compose_one(overrides: list[str]) -> DictConfig:
        loader._parse_overrides_and_create_caching_repo = parse
        try:
            return loader.load_sweep_config(master, overrides)
        finally:
            del loader._parse_overrides_and_create_caching_repo

    return compose_one


class _ParsedOnce:
    """A Hydra config repository whose files are parsed once; every load returns a copy."""

    def __init__(self, repository: Any) -> None:
        self.repository = copy.deepcopy(repository)  # its sources are set up here, not in Hydra's
        self.parsed: dict[str, Any] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> _ParsedOnce:
        return self  # Hydra copies a repository per composition; this one is shared on purpose

    def load_config(self, config_path: str) -> Any:
        if config_path not in self.parsed:
            self.parsed[config_path] = self.repository.load_config(config_path=config_path)
        loaded = self.parsed[config_path]
        return None if loaded is None else replace(loaded, config=copy.deepcopy(loaded.config))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repository, name)


def explain(err: HydraException) -> str:
    """Hydra's error as one sentence; a missing config group option lists the valid ones."""
    text = " ".join(line.strip() for line in str(err).strip().splitlines()[:2])
    missing = re.search(r"Could not find '([^'/]+)/[^']*'", text)
    if missing and (CONF_DIR / missing.group(1)).is_dir():
        group = missing.group(1)
        options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        return f"{text.rstrip('. ')}; {group} must be one of: {', '.join(options)}."
    return text


def command_help(config_name: str) -> str:
    """The usage of a single-run command: its overrides and their defaults (``conf/<name>.yaml``)."""
    defaults = (CONF_DIR / f"{config_name}.yaml").read_text()
    return (
        f"usage: ablation {config_name if config_name != 'export' else 'export|track'} [key=value ...]\n\n"
        f"Hydra overrides of conf/{config_name}.yaml (the package's config; defaults below):\n\n{defaults}"
    )


def compose_command(config_name: str, argv: list[str] | None) -> DictConfig | None:
    """The command's Hydra config from its arguments; None (after one ``error:`` line) when they are wrong."""
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in args):
        print(command_help(config_name))
        sys.exit(0)
    from ablation.config.checks import check_config

    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose_checked(config_name, args)
        check_config(cfg)
        return cfg
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return None
