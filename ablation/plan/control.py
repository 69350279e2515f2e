"""``control=width``: wider baselines with the GFLOPs of the grid's attention configs.

An attention config that adds GFLOPs is only interesting if it beats the baseline given the same
GFLOPs as width. For each baseline of the grid (model, data, training settings) this adds, with
every seed of that baseline, the baseline widened (``surgery.widen``, ``model.widen=<factor>``)
to the median and to the largest GFLOPs its attention configs add, each within ±2 %. The GFLOPs
are the planner's own count (the generated yaml built by the engine, counted by
``preflight.flops`` at ``preflight.gflops_imgsz`` with the dataset's class count): a width
changes in steps of 8 channels, so the count is a step function of the factor; ``search`` tries
one factor on every step (bisection over the factors where some layer's width changes) and keeps
the nearest. A target no factor reaches within ±2 % is refused with one sentence, before anything
is planned.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ablation.config.errors import OptionError, not_one_of
from ablation.config.grid import WIDEN, WIDTH_CONTROL, GridEntry, extend
from ablation.data.resolve import DataError, resolve
from ablation.engines import engine_of
from ablation.plan.surgery import ModelSpec
from ablation.plan.surgery.widen import breakpoints, widen

NONE = "none"
CONTROLS = (NONE, WIDTH_CONTROL)
TOLERANCE = 0.02  # a control's GFLOPs within ±2 % of its target
HIGHEST = 3.0  # the widest factor searched
ROLES = ("median", "max")  # the targets: median and largest GFLOPs the attention configs add


class ControlError(OptionError):
    """``control=`` cannot be honoured for this grid."""


@dataclass(frozen=True)
class Match:
    """One wider baseline: what it aims at and what it reaches."""

    model: str
    role: str  # median / max (both, when they are one target)
    base: float  # the baseline's GFLOPs
    target: float  # GFLOPs aimed at
    factor: float  # model.widen
    gflops: float  # reached

    @property
    def error(self) -> float:
        return self.gflops / self.target - 1

    def check(self, tolerance: float = TOLERANCE) -> None:
        """A ``ControlError`` when the GFLOPs reached miss the target by more than ``tolerance``."""
        if abs(self.error) > tolerance:
            raise ControlError(
                f"control=width cannot reach {self.target:.3f} GFLOPs for {self.model} ({self.role} of its attention "
                f"configs) within ±{tolerance:.0%}: the nearest wider model has {self.gflops:.3f} ({self.error:+.1%}); "
                "drop control=width for this grid."
            )

    def line(self) -> str:
        if self.factor == 1.0:
            return (
                f"[ablation] control=width {self.model}: {self.role} of the attention configs' GFLOPs "
                f"{self.target:.3f} is within ±{TOLERANCE:.0%} of the baseline's {self.base:.3f}: "
                "the baseline is its own control there (no wider baseline)"
            )
        return (
            f"[ablation] control=width {self.model}: {self.role} of the attention configs' GFLOPs "
            f"{self.target:.3f} (baseline {self.base:.3f}) -> widths x{self.factor:g}, {self.gflops:.3f} GFLOPs "
            f"({self.error:+.2%})"
        )


def kind(cfg: DictConfig) -> str:
    """The config's ``control.name``; an unknown one is one sentence."""
    name = str((cfg.get("control") or {}).get("name", NONE))
    if name not in CONTROLS:
        raise not_one_of("control", name, CONTROLS, ControlError)
    return name


Count = Callable[[ModelSpec], float]


class Counter:
    """GFLOPs of model specs as the planner's preflight counts them: the engine's model with the
    dataset's classes, ``preflight.flops.gflops`` at ``imgsz``, rounded to 3 decimals."""

    def __init__(self, engine_name: str, nc: int, imgsz: int, folder: Path) -> None:
        from ablation.plan.preflight.flops import FlopCache

        self.engine_name, self.nc, self.imgsz, self.folder = engine_name, nc, imgsz, folder
        self.cache = FlopCache()
        self.counted = 0

    def __call__(self, spec: ModelSpec) -> float:
        from ablation.plan.preflight import build_model
        from ablation.plan.preflight.flops import gflops

        self.counted += 1
        path = spec.write(self.folder / f"count{self.counted}.yaml")
        model = build_model(path, self.nc, self.engine_name)
        return round(gflops(model, self.imgsz, cache=self.cache, in_place=True), 3)


def candidates(spec: ModelSpec, highest: float = HIGHEST) -> list[float]:
    """One short factor inside every step of the widened model (between consecutive breakpoints)."""
    points = breakpoints(spec, highest)
    ends = [*points[1:], highest + 1e-9]
    return [_inside(a, b) for a, b in zip(points, ends) if b - a > 1e-9]


def _inside(low: float, high: float) -> float:
    """The shortest decimal strictly inside ``(low, high)``, clear of both ends."""
    for digits in range(2, 10):
        scale = 10**digits
        value = math.floor(low * scale + 1) / scale
        if low + 1e-9 < value < high - 1e-9:
            return value
    return (low + high) / 2


def search(
    spec: ModelSpec, target: float, count: Count, base: float | None = None, highest: float = HIGHEST
) -> tuple[float, float]:
    """The factor whose widened ``spec`` has GFLOPs nearest ``target``, and those GFLOPs.

    GFLOPs never fall as the factor grows, so the first step at or above the target, or the step
    below it, is the nearest. Each count builds a model (seconds), so the search starts at the
    step of ``sqrt(target / base)`` (convolutions cost about width squared; ``base``: the
    unwidened GFLOPs), gallops outward until the target is bracketed, and bisects the bracket."""
    factors = candidates(spec, highest)
    if not factors:
        raise ControlError(f"no wider model than {spec.source} exists up to widths x{highest:g}.")
    counted: dict[int, float] = {}

    def at(i: int) -> float:
        if i not in counted:
            counted[i] = count(widen(spec, factors[i]))
        return counted[i]

    guess = math.sqrt(target / base) if base else factors[0]
    start = min(range(len(factors)), key=lambda i: abs(factors[i] - guess))
    low, high = _bracket(start, len(factors), lambda i: at(i) >= target)
    while low < high:  # the first index at or above the target lies in [low, high]
        mid = (low + high) // 2
        if at(mid) >= target:
            high = mid
        else:
            low = mid + 1
    near = [i for i in (low - 1, low) if 0 <= i < len(factors)]
    best = min(near, key=lambda i: abs(at(i) / target - 1))
    return factors[best], at(best)


def _bracket(start: int, size: int, above: Callable[[int], bool]) -> tuple[int, int]:
    """``(low, high)`` with the first index where ``above`` holds in ``[low, high]`` (``size``
    when it never holds), found by galloping from ``start`` (``above`` is monotone)."""
    step = 1
    if above(start):
        high = start
        while high > 0 and above(low := max(0, high - step)):
            high, step = low, step * 2
        return (max(0, high - step) if high > 0 else 0), high
    low = start + 1
    while low < size and not above(high := min(size - 1, low + step - 1)):
        low, step = high + 1, step * 2
    return low, (min(size - 1, low + step - 1) if low < size else size)


def with_controls(
    entries: list[GridEntry],
    config_name: str,
    compose_with: Callable[[list[str]], DictConfig] | None = None,
    tolerance: float = TOLERANCE,
) -> tuple[list[GridEntry], list[Match]]:
    """``entries`` plus, with ``control=width``, each baseline's wider baselines (every seed of
    that baseline), and the matches found; a target no width reaches within ``tolerance`` is a
    ``ControlError``."""
    kinds = {kind(e.cfg) for e in entries}
    if WIDTH_CONTROL not in kinds:
        return entries, []
    from ablation.report.adaptive import is_enabled

    if any(is_enabled(e.cfg.get("adaptive")) for e in entries):
        raise ControlError(
            "control=width needs every config trained with every seed (the curve is paired by seed); "
            "drop adaptive.enabled=true."
        )
    bases: dict[str, list[GridEntry]] = {}  # a baseline's group_hash → its seeds
    for e in entries:
        if e.is_baseline:
            bases.setdefault(e.group_hash, []).append(e)
    group_of = {e.config_hash: e.group_hash for e in entries if e.is_baseline}
    jobs: list[list[str]] = []
    matches: list[Match] = []
    with tempfile.TemporaryDirectory(prefix="ablation-control-") as folder:
        for group, seeds in bases.items():
            attention = {
                e.group_hash: e
                for e in entries
                if not e.is_baseline and not e.control and group_of.get(e.baseline_hash) == group
            }
            if not attention:
                continue
            found = match(seeds[0], list(attention.values()), Path(folder), tolerance)
            matches += found
            for factor in dict.fromkeys(m.factor for m in found if m.factor != 1.0):
                jobs += [[*b.overrides, f"++model.{WIDEN}={factor:g}"] for b in seeds]
    return extend(config_name, entries, jobs, compose_with), matches


def match(base: GridEntry, attention: list[GridEntry], folder: Path, tolerance: float = TOLERANCE) -> list[Match]:
    """The wider baselines of ``base`` for the GFLOPs its ``attention`` configs add."""
    from ablation.plan.planner import surgery

    eng = engine_of(base.cfg)
    spec = ModelSpec.load(eng.model_yaml(str(base.cfg.model.cfg)), eng.dialect)
    try:
        single = bool((base.cfg.get("train") or {}).get("single_cls"))
        nc = resolve(base.cfg.data, folder / "data", single).nc
    except DataError as err:
        raise ControlError(str(err)) from None
    count = Counter(eng.name, nc, int((base.cfg.get("preflight") or {}).get("gflops_imgsz", 640)), folder)
    base_gflops = count(spec)
    added = np.array([count(surgery(e, spec).spec) - base_gflops for e in attention])
    targets = {"median": base_gflops + float(np.median(added)), "max": base_gflops + float(added.max())}
    out: list[Match] = []
    for role, target in targets.items():
        if target <= base_gflops * (1 + tolerance):  # the baseline is its own control at this point
            out.append(Match(base.model, role, base_gflops, target, 1.0, base_gflops))
            continue
        if out and abs(out[-1].target - target) <= 1e-9:
            out[-1] = Match(base.model, "median and max", base_gflops, target, out[-1].factor, out[-1].gflops)
            continue
        factor, reached = search(spec, target, count, base_gflops)
        found = Match(base.model, role, base_gflops, target, factor, reached)
        found.check(tolerance)
        out.append(found)
    return out
