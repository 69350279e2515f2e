"""Config → grid: expand Hydra comma-list overrides into one composed config per entry.

``attention=se,simam placement=neck,after_c3`` is the cartesian product of the swept keys,
composed with Hydra's compose API, plus the baseline (``attention=none``) once per model and
any other swept key. Baseline entries ignore the placement, so they are deduplicated.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from .surgery import BASELINE, Placement

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
BASELINE_LABEL = "-"


class ConfigError(ValueError):
    """The command line does not compose into a valid configuration."""


@dataclass(frozen=True)
class GridEntry:
    """One point of the grid: a composed config and the names it is reported under."""

    name: str
    model: str
    attention: str
    placement: str
    cfg: DictConfig

    @property
    def is_baseline(self) -> bool:
        return self.attention == BASELINE


def split_overrides(overrides: list[str]) -> tuple[list[str], list[list[str]]]:
    """Fixed overrides, and for each swept key the list of its single-valued overrides."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(f"cannot parse the command line: {err}") from None
    fixed: list[str] = []
    sweeps: list[list[str]] = []
    for override in parsed:
        if override.is_sweep_override():
            key = override.get_key_element()
            sweeps.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            fixed.append(override.input_line)
    return fixed, sweeps


def baseline_overrides(overrides: list[str]) -> list[str]:
    """The same overrides with attention and placement replaced by the baseline's."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    kept = [o.input_line for o in parsed if o.get_key_element().lstrip("+~").split(".")[0].split("/")[0] not in ("attention", "placement")]
    return kept + [f"attention={BASELINE}"]


def with_baselines(combos: list[list[str]]) -> list[list[str]]:
    """Every combo's baseline, then the combos; override lists equal up to order appear once."""
    unique: dict[tuple[str, ...], list[str]] = {}
    for job in [baseline_overrides(c) for c in combos] + combos:
        unique.setdefault(tuple(sorted(job)), job)
    return list(unique.values())


def expand(config_name: str, overrides: list[str]) -> list[GridEntry]:
    fixed, sweeps = split_overrides(overrides)
    combos = [fixed + list(combo) for combo in itertools.product(*sweeps)]
    entries: dict[str, GridEntry] = {}
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        for combo in with_baselines(combos):
            entry = describe(compose_checked(config_name, combo))
            key = fingerprint(entry)
            entries.setdefault(key, entry)
    return _unique_names(list(entries.values()))


def compose_checked(config_name: str, overrides: list[str]) -> DictConfig:
    try:
        cfg = compose(config_name, overrides=overrides)
    except HydraException as err:
        raise ConfigError(_explain(err)) from None
    return cfg


def describe(cfg: DictConfig) -> GridEntry:
    model = Path(str(cfg.model.cfg)).stem
    attention = str(cfg.attention.name)
    if attention == BASELINE:
        cfg = cfg.copy()
        OmegaConf.update(cfg, "placement", {"name": BASELINE_LABEL}, merge=False)
        return GridEntry(f"{model}-{BASELINE}", model, attention, BASELINE_LABEL, cfg)
    placement = Placement.from_config(cfg.placement).label
    return GridEntry(f"{model}-{attention}-{placement}", model, attention, placement, cfg)


def fingerprint(entry: GridEntry, exclude: tuple[str, ...] = ("out",)) -> str:
    """Hash of the resolved config without the top-level keys in ``exclude``."""
    data: dict[str, Any] = OmegaConf.to_container(entry.cfg, resolve=True)  # type: ignore[assignment]
    for key in exclude:
        data.pop(key, None)
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:10]


def _unique_names(entries: list[GridEntry]) -> list[GridEntry]:
    """Entries whose names collide (e.g. a swept attention kwarg) get the differing values appended."""
    groups: dict[str, list[GridEntry]] = {}
    for e in entries:
        groups.setdefault(e.name, []).append(e)
    renamed: dict[int, str] = {}
    for name, group in groups.items():
        if len(group) < 2:
            continue
        flat = [_flatten(OmegaConf.to_container(e.cfg, resolve=True)) for e in group]
        keys = sorted(k for k in set().union(*flat) if len({json.dumps(f.get(k), default=str) for f in flat}) > 1)
        for e, f in zip(group, flat):
            renamed[id(e)] = name + "-" + ",".join(f"{k.split('.')[-1]}={f.get(k)}" for k in keys if k != "out")
    return [
        GridEntry(renamed[id(e)], e.model, e.attention, e.placement, e.cfg) if id(e) in renamed else e
        for e in entries
    ]


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for k, v in data.items():
        out.update(_flatten(v, f"{prefix}{k}."  if isinstance(v, dict) else f"{prefix}{k}"))
    return out


def _explain(err: HydraException) -> str:
    text = " ".join(line.strip() for line in str(err).strip().splitlines()[:2])
    missing = re.search(r"Could not find '([^'/]+)/[^']*'", text)
    if missing and (CONF_DIR / missing.group(1)).is_dir():
        group = missing.group(1)
        options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        return f"{text.rstrip('. ')}; {group} must be one of: {', '.join(options)}."
    return text
