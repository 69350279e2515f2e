"""The package's Hydra configs (``ablation/conf``) and composing them into one checked config:
every command (run, plan, export, report, track) starts here."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig

from ablation.config.errors import ConfigError

__all__ = ["CONF_DIR", "ConfigError", "compose_checked", "compose_command", "explain"]

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"  # package data: ablation/conf


def compose_checked(config_name: str, overrides: list[str], with_hydra: bool = False) -> DictConfig:
    """Hydra's compose (inside ``initialize_config_dir``), its errors as one ``ConfigError`` sentence;
    ``with_hydra``: the ``hydra`` node (its launcher) kept."""
    try:
        return compose(config_name, overrides=overrides, return_hydra_config=with_hydra)
    except HydraException as err:
        raise ConfigError(explain(err)) from None


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
