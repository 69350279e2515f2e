"""Config → grid: the one place a command line becomes the list of configs to plan and train.

``attention=se,simam placement=neck,after_c3`` is the cartesian product of the swept keys, plus
the baseline (``attention=none``) once per model and any other swept key. Each combination is
composed once with Hydra's compose API; configs equal after composition (the baseline for every
placement, say) are one entry. Every entry carries its identity (``config_hash``), the identity of
its seed group (``group_hash``: the same config under another seed) and of its baseline, and a
name that is unique up to the seed (``yolov5s-se-neck-reduction=8`` when ``reduction`` is swept).
``plan``, ``run`` and the report all read these; nothing else expands a grid or hashes a config.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hydra import initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict

from ablation.config.compose import CONF_DIR, ConfigError, compose_checked, explain
from ablation.config.errors import OptionError
from ablation.config.fingerprint import Fingerprints
from ablation.engines import DEFAULT, engine_of
from ablation.plan.surgery import BASELINE, Placement, PlacementError

BASELINE_LABEL = "-"
# Top-level keys that say where and how a config is run or recorded, not what it computes.
# ``evaluate`` (COCO metrics, latency settings) changes what is measured after training, not the
# trained model: a re-run with other settings skips FINISHED configs, which keep their values
# (their latency_* params say how they were measured) instead of training everything again.
# ``verdict`` and ``adaptive`` decide how results are judged and which seeds run, not what a run computes.
# ``engine`` (``engine=NAME``) selects the model group; the model's own ``model.engine`` is the identity.
# ``control`` says which extra configs the grid gets (``control=width``: wider baselines), not what
# one computes: a wider baseline's identity is its ``model.widen``.
NOT_IDENTITY = (
    "engine",
    "tracking",
    "preflight",
    "onnx",
    "evaluate",
    "out",
    "planned",
    "hydra",
    "verdict",
    "adaptive",
    "control",
)
SEED = "seed"
ATTENTION, ALL = "attention", "all"
EVERY_ATTENTION = f"{ATTENTION}={ALL}"  # sweeps every registered module (conf/attention/all.yaml), also in a list
WIDEN = "widen"  # model.widen: a wider baseline (control=width), every width times this factor
WIDTH_CONTROL = "width"


@dataclass(frozen=True)
class GridEntry:
    """One config of the grid and the names and hashes it is recorded under."""

    name: str
    model: str
    attention: str
    placement: str
    cfg: DictConfig
    overrides: tuple[str, ...] = ()
    config_hash: str = ""  # identity: everything that can change the result
    group_hash: str = ""  # identity without the seed
    baseline_hash: str = ""  # config_hash of the baseline it is compared with
    fingerprints: tuple[tuple[str, str], ...] = ()  # (kind, digest) of ablation.config.fingerprint, part of the hashes
    control: str = ""  # "width" for a wider baseline (``model.widen``), compared with its baseline

    @property
    def is_baseline(self) -> bool:
        return self.attention == BASELINE and not self.control

    @property
    def widen(self) -> float | None:
        """The width factor of a wider baseline (``model.widen``), None for any other config."""
        value = self.cfg.model.get(WIDEN)
        return None if value is None else float(value)

    @property
    def seed(self) -> int:
        return int(self.cfg.get(SEED, 0))


def expand(
    config_name: str, overrides: list[str], compose_with: Callable[[list[str]], DictConfig] | None = None
) -> list[GridEntry]:
    """Every config of the command line, baselines included, each once, uniquely named.

    ``compose_with``: how to compose one override list; by default Hydra's compose API over
    ``conf/`` (inside a running Hydra app, the app's own config loader is passed instead).
    """
    fixed, sweeps = split_overrides(overrides)
    combos = [fixed + list(combo) for combo in itertools.product(*sweeps)]
    return name_uniquely(_entries(config_name, with_baselines(combos), compose_with))


def extend(
    config_name: str,
    entries: list[GridEntry],
    jobs: list[list[str]],
    compose_with: Callable[[list[str]], DictConfig] | None = None,
) -> list[GridEntry]:
    """``entries`` plus the configs of ``jobs`` (override lists, e.g. the wider baselines of
    ``control=width``), composed, checked and named as ``expand`` does."""
    added = [
        e for e in _entries(config_name, jobs, compose_with) if e.config_hash not in {x.config_hash for x in entries}
    ]
    return name_uniquely([*entries, *added])


def _entries(
    config_name: str, jobs: list[list[str]], compose_with: Callable[[list[str]], DictConfig] | None
) -> list[GridEntry]:
    """Each override list composed, its options checked, as a grid entry; equal configs once."""
    from ablation.config.checks import Checks

    checks = Checks()
    composed: list[tuple[list[str], DictConfig]] = []
    with contextlib.ExitStack() as stack:
        if compose_with is None:
            stack.enter_context(initialize_config_dir(str(CONF_DIR), version_base="1.3"))
        for job in jobs:
            try:
                cfg = compose_with(job) if compose_with else compose_checked(config_name, job, with_hydra=True)
            except HydraException as err:
                raise ConfigError(explain(err)) from None
            check_engine(cfg)
            checks.config(cfg)  # every option, before anything else is computed
            composed.append((job, cfg))
    checks.grid()
    entries: dict[str, GridEntry] = {}
    fingerprints = Fingerprints()
    for job, cfg in composed:
        try:
            entry = describe(cfg, [o for o in job if not is_hydra_override(o)], fingerprints)
        except HydraException as err:
            raise ConfigError(explain(err)) from None
        except PlacementError as err:
            raise ConfigError(str(err)) from None
        entries.setdefault(entry.config_hash, entry)
    return list(entries.values())


def check_first(config_name: str, overrides: list[str]) -> DictConfig:
    """Compose the grid's first config (each swept key at its first value), as Hydra does before
    it hands the grid to the sweeper: Hydra would hide this composition's error behind advice to
    add ``--multirun``; here it is one ``ConfigError`` sentence. Its options are checked too
    (``checks.Checks``), so a bad one is refused before Hydra starts. The sweeper expands the grid
    and checks every config (and what depends on the whole grid) before it plans anything.
    Returns that first config."""
    from ablation.config.checks import Checks

    fixed, sweeps = split_overrides(overrides)
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        first = compose_checked(config_name, fixed + [values[0] for values in sweeps if values], with_hydra=True)
    check_engine(first)
    Checks().config(first)
    return first


def check_engine(cfg: DictConfig) -> None:
    """``engine=NAME`` (``conf/engine``) and the model's own engine (``model.engine``) agree:
    ``engine=ultralytics model=yolov5n`` is refused with the model to choose instead."""
    chosen = OmegaConf.select(cfg, "engine.name")
    if chosen is None:
        return
    model_engine = str(OmegaConf.select(cfg, "model.engine") or DEFAULT)
    if str(chosen) == model_engine:
        return
    model = Path(str(OmegaConf.select(cfg, "model.cfg"))).stem
    raise OptionError(
        f"model {model} trains with the {model_engine} engine, not engine={chosen}; choose a model "
        f"of that engine (model={engine_model(str(chosen))}) or leave engine={chosen} out."
    )


def engine_model(name: str) -> str:
    """The model ``engine=NAME`` selects when no model is given (``conf/engine/NAME.yaml``)."""
    defaults = OmegaConf.load(CONF_DIR / "engine" / f"{name}.yaml").get("defaults") or []
    return next((str(d[k]) for d in defaults if isinstance(d, DictConfig) for k in d if k.endswith("/model")), name)


def is_hydra_override(override: str) -> bool:
    """``hydra.sweep.dir=...``, ``hydra/launcher=...``: how Hydra runs, not what a job computes."""
    return _group(override.split("=")[0]) == "hydra"


def split_overrides(overrides: list[str]) -> tuple[list[str], list[list[str]]]:
    """Fixed overrides, and for each swept key the list of its single-valued overrides."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(f"cannot parse the command line: {_first_line(err)}") from None
    fixed: list[str] = []
    sweeps: list[list[str]] = []
    for override in parsed:
        key = override.get_key_element()
        if override.input_line == EVERY_ATTENTION:
            sweeps.append([f"attention={name}" for name in every_attention()])
        elif override.is_sweep_override():
            values = list(override.sweep_string_iterator())
            if key == ATTENTION and ALL in values:  # attention=se,all: every module, each once
                values = list(dict.fromkeys(n for v in values for n in (every_attention() if v == ALL else [v])))
            sweeps.append([f"{key}={value}" for value in values])
        else:
            fixed.append(override.input_line)
    return fixed, sweeps


def every_attention() -> list[str]:
    """Every registered attention module, plugins included (``none``, the baseline, is added anyway)."""
    from ablation.attention import ATTENTION

    return ATTENTION.names()


def baseline_overrides(overrides: list[str]) -> list[str]:
    """The same overrides with attention and placement replaced by the baseline's."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    kept = [o.input_line for o in parsed if _group(o.get_key_element()) not in ("attention", "placement")]
    return kept + [f"attention={BASELINE}"]


def with_baselines(combos: list[list[str]]) -> list[list[str]]:
    """Every combo's baseline, then the combos; override lists equal up to order appear once."""
    unique: dict[tuple[str, ...], list[str]] = {}
    for job in [baseline_overrides(c) for c in combos] + combos:
        unique.setdefault(tuple(sorted(job)), job)
    return list(unique.values())


def describe(
    cfg: DictConfig, overrides: list[str] | tuple[str, ...] = (), fingerprints: Fingerprints | None = None
) -> GridEntry:
    """A composed config as a grid entry (named without the suffixes ``name_uniquely`` adds).

    A baseline ignores the placement: its placement is recorded as ``-`` so that one baseline
    serves every placement. ``fingerprints``: shared by the entries of one expansion (each
    dataset is listed once).
    """
    cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]) if "hydra" in cfg else cfg.copy()
    model = Path(str(cfg.model.cfg)).stem
    attention = str(cfg.attention.name)
    widen = cfg.model.get(WIDEN)
    if widen is not None and attention != BASELINE:
        raise ConfigError(f"model.widen={widen} widens a baseline only; drop it or use attention=none.")
    if attention == BASELINE:
        OmegaConf.update(cfg, "placement", {"name": BASELINE_LABEL}, merge=False)
        name, placement = f"{model}-{BASELINE}", BASELINE_LABEL
        if widen is not None:
            name = f"{model}-{WIDTH_CONTROL}-x{float(widen):g}"
    else:
        chosen = Placement.from_config(cfg.placement)
        chosen.check(engine_of(cfg).dialect)  # a placement the model's engine cannot carry out: exit 2
        placement = chosen.label
        name = f"{model}-{attention}-{placement}"
    fingerprints = fingerprints or Fingerprints()
    prints, base = fingerprints.of(cfg), _baseline(cfg)
    base_prints = {**prints, "code": fingerprints.code(base)}  # same data, packages, files
    return GridEntry(
        name,
        model,
        attention,
        placement,
        cfg,
        tuple(overrides),
        config_hash=identity(cfg, prints),
        group_hash=identity(cfg, prints, without=(SEED,)),
        baseline_hash=identity(base, base_prints),
        fingerprints=tuple(prints.items()),
        control=WIDTH_CONTROL if widen is not None else "",
    )


def identity(cfg: DictConfig, fingerprints: dict[str, str], without: tuple[str, ...] = ()) -> str:
    """Hash of the resolved config, less the keys that do not change results (``NOT_IDENTITY``),
    and of what else can change them (``ablation.config.fingerprint``: the code of ours it runs, the
    installed packages, the dataset's files, the files the config names)."""
    data: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    for key in (*NOT_IDENTITY, *without):
        data.pop(key, None)
    data["fingerprints"] = fingerprints
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:10]


def name_uniquely(entries: list[GridEntry]) -> list[GridEntry]:
    """Entries whose names collide but that differ beyond the seed (a swept attention argument,
    training option or dataset) get ``-key=value`` for every key that differs, e.g.
    ``yolov5s-se-neck-reduction=8``; seeds of one config share its name (the seed is a column)."""
    groups: dict[str, list[GridEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.name, []).append(entry)
    names: dict[str, str] = {}  # group_hash → name
    for name, group in groups.items():
        distinct = list({e.group_hash: e for e in group}.values())
        if len(distinct) < 2:
            continue
        flat = [flatten(_comparable(e.cfg)) for e in distinct]
        differing = sorted(k for k in set().union(*flat) if len({_text(f.get(k)) for f in flat}) > 1)
        for entry, values in zip(distinct, flat):
            suffix = "-".join(f"{k.split('.')[-1]}={_label(values.get(k))}" for k in differing)
            names[entry.group_hash] = f"{name}-{suffix}"
    renamed = [replace(e, name=names.get(e.group_hash, e.name)) for e in entries]
    taken: dict[str, str] = {}
    for e in renamed:  # two keys with one leaf name could still collide: never silently
        if taken.setdefault(e.name, e.group_hash) != e.group_hash:
            raise ConfigError(f"two configs would both be named {e.name}; sweep fewer keys at once.")
    return renamed


def _baseline(cfg: DictConfig) -> DictConfig:
    base = cfg.copy()
    with open_dict(base):
        base.model.pop(WIDEN, None)  # a wider baseline's baseline is the model at its own width
    OmegaConf.update(base, "attention", OmegaConf.load(CONF_DIR / "attention" / f"{BASELINE}.yaml"), merge=False)
    OmegaConf.update(base, "placement", {"name": BASELINE_LABEL}, merge=False)
    return base


def _comparable(cfg: DictConfig) -> dict[str, Any]:
    data: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    for key in (*NOT_IDENTITY, SEED):
        data.pop(key, None)
    return data


def _group(key: str) -> str:
    return key.lstrip("+~").split(".")[0].split("/")[0]


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings → ``{"a.b": value}`` (``prefix`` ends with its dot)."""
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flatten(value, f"{prefix}{key}."))
    return out


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _label(value: Any) -> str:
    """A value as it reads in a name (and a file name): no slashes, lists without spaces."""
    if isinstance(value, list):
        return "[" + ",".join(map(_label, value)) + "]"
    text = str(value).lower() if isinstance(value, bool) else str(value)  # as typed: noplots=true
    if "/" in text:  # a path: its last two parts say which one
        text = "_".join(Path(text).parts[-2:])
    return re.sub(r"[^\w.,=+\[\]-]", "_", text)


def _first_line(err: Exception) -> str:
    return " ".join(str(err).strip().splitlines()[:1]).strip()
