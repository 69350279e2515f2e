"""Every option of a command line, checked where it is expanded (``grid.expand``, for ``run`` and
``plan``) or composed (``compose.compose_command``, for ``export``, ``report`` and ``track``): before
anything is planned, a job folder is made or an MLflow run is created.

Each group is checked by the step that uses it, with its own list of valid values (nothing is
copied here): ``verdict.*`` by ``report.family``, ``metric`` by ``report.stats``, ``bootstrap.*``
by ``report.bootstrap``, ``evaluate.*`` by ``evaluate.Settings``, ``adaptive.*`` by
``report.adaptive.Design`` (with the grid's seeds), ``tracking.*`` by ``track.store.check_uri``
and ``job.claim.Timing``; the launcher's options against the cluster (``Slurm``). A bad value is
an ``errors.OptionError``: one sentence naming the nearest valid value.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablation.config.errors import OptionError, nearest

# The option groups checked here (the top-level keys a composed config may have), and the launcher.
GROUPS = ("verdict", "metric", "bootstrap", "evaluate", "tracking", "adaptive")
LAUNCHER = "hydra.launcher"
SLURM_LAUNCHER = "SlurmLauncher"  # hydra/launcher=slurm and submitit_slurm (hydra_submitit_launcher)
SINFO_TIMEOUT_S = 10


def check_config(cfg: DictConfig) -> None:
    """Every option group ``cfg`` has, its launcher's options left out (``Checks`` adds them)."""
    check_options(_options(cfg))


def check_options(options: Mapping[str, Any]) -> None:
    """``check_config`` of ``_options``' plain data."""
    from ablation.evaluate.settings import Settings
    from ablation.job.claim import Timing
    from ablation.report import adaptive, bootstrap, family, stats
    from ablation.track.store import check_uri

    if "verdict" in options:
        verdict = options["verdict"] or {}
        family.check(
            str(verdict.get("correction", family.DEFAULT_CORRECTION)), verdict.get("alpha", family.DEFAULT_ALPHA)
        )
    if "metric" in options:
        stats.check_metric_name(str(options["metric"]))
    if "bootstrap" in options:
        boot = options["bootstrap"] or {}
        bootstrap.check_options(boot.get("resamples", 1000), boot.get("seed", 0))
    if "evaluate" in options:
        Settings.from_config(options["evaluate"])
    if "tracking" in options:
        tracking = options["tracking"] or {}
        check_uri(tracking.get("uri"))
        if not str(tracking.get("experiment") or "").strip():
            raise OptionError(
                "tracking.experiment is empty; name the MLflow experiment, e.g. tracking.experiment=ablation."
            )
        Timing.of(tracking)
    if "adaptive" in options:
        adaptive.is_enabled(options["adaptive"])


@dataclass
class Checks:
    """The checks of one command line's configs: ``config`` for each composed config (as soon as it
    is composed, so a bad option stops the expansion at the first config), ``grid`` once all are
    (what depends on the whole grid: the adaptive design's seeds). Configs with the same options
    are checked once, the cluster is asked once."""

    cluster: Slurm = field(default_factory=lambda: Slurm())
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)  # the distinct options (``_options``), by their JSON
    seeds: set[str] = field(default_factory=set)  # every config's seed (JSON)

    def config(self, cfg: DictConfig) -> None:
        options = _options(cfg)
        self.seeds.add(json.dumps(cfg.get("seed"), default=str))
        key = json.dumps(options, sort_keys=True, default=str)
        if key in self.seen:
            return
        self.seen[key] = options
        check_options(options)
        self.cluster.check(options.get(LAUNCHER) or {})

    def grid(self) -> None:
        from ablation.report.adaptive import Design, is_enabled

        for options in self.seen.values():
            if is_enabled(options.get("adaptive")):
                Design.from_options(options["adaptive"], options.get("verdict"), len(self.seeds))


@dataclass
class Slurm:
    """The Slurm partitions ``sinfo`` lists (with their generic resources), asked once, when a
    Slurm launcher is configured; no check when ``sinfo`` is not on PATH or does not answer
    (``sbatch`` then says what is wrong)."""

    gres: dict[str, set[str]] | None = None  # partition → its nodes' GRES (``gpu:a100:4``, ``(null)``)
    default: str | None = None  # the partition marked ``*``
    asked: bool = False

    def check(self, launcher: Mapping[str, Any]) -> None:
        """``OptionError`` for a partition that does not exist, or GPUs asked of a partition without any."""
        if not str(launcher.get("_target_") or "").endswith(SLURM_LAUNCHER):
            return
        partitions = self.partitions()
        if not partitions:
            return
        partition = launcher.get("partition")
        if partition is not None and str(partition) not in partitions:
            raise OptionError(
                f"hydra.launcher.partition={partition} is not a Slurm partition here (sinfo lists "
                f"{', '.join(partitions)}); the nearest is hydra.launcher.partition={nearest(partition, list(partitions))}."
            )
        name = str(partition) if partition is not None else self.default
        gpus = any(launcher.get(k) for k in ("gpus_per_node", "gpus_per_task"))
        if not gpus or name is None or _has_gpus(partitions[name]):
            return
        with_gpus = [p for p, gres in partitions.items() if _has_gpus(gres)]
        other = (
            f", or choose a partition with GPUs (hydra.launcher.partition={nearest(name, with_gpus)})"
            if with_gpus
            else ""
        )
        raise OptionError(
            f"partition {name} has no GPUs; pass hydra.launcher.gpus_per_node=0 to train on its CPUs{other}."
        )

    def partitions(self) -> dict[str, set[str]]:
        if not self.asked:
            self.asked = True
            self.gres, self.default = _sinfo()
        return self.gres or {}


def _sinfo() -> tuple[dict[str, set[str]] | None, str | None]:
    """``sinfo``'s partitions and their GRES, and the default partition; (None, None) without an answer."""
    sinfo = shutil.which("sinfo")
    if sinfo is None:
        return None, None
    try:
        done = subprocess.run(
            [sinfo, "--noheader", "--format=%P|%G"], capture_output=True, text=True, timeout=SINFO_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    if done.returncode != 0:
        return None, None
    gres: dict[str, set[str]] = {}
    default = None
    for line in done.stdout.splitlines():
        name, _, resources = line.strip().partition("|")
        if not name:
            continue
        if name.endswith("*"):
            name = default = name.rstrip("*")
        gres.setdefault(name, set()).update(r for r in resources.split(",") if r)
    return gres or None, default


def _has_gpus(gres: set[str]) -> bool:
    return any(r.split(":")[0] == "gpu" for r in gres)


def _options(cfg: DictConfig) -> dict[str, Any]:
    """The checked groups of ``cfg`` as plain data (resolved), and its launcher's options as written
    (they interpolate Hydra's runtime: ``${hydra.sweep.dir}``)."""
    options = {k: _resolved(cfg, k) for k in GROUPS if k in cfg}
    launcher = OmegaConf.select(cfg, LAUNCHER)
    if launcher is not None:
        options[LAUNCHER] = OmegaConf.to_container(launcher, resolve=False)
    return options


def _resolved(cfg: DictConfig, key: str) -> Any:
    node = cfg[key]
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node
