"""Named placements: where in a model an attention module goes.

A placement resolves, on a concrete base model, to either a list of layer indices to insert the
module after, or a list of host blocks (YOLOv5: C3) to replace by the attention-carrying block
(``C3Attn``). Which modules those are is the model's dialect's (``ModelSpec.dialect``). Anything
impossible on that model raises ``PlacementError`` with one sentence naming the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ablation.engines.dialect import Dialect
from ablation.plan.surgery.graph import ModelSpec

SCALES = ("P3", "P4", "P5", "P6")
INSIDE_POINTS = ("bottleneck_in", "skip_in", "concat")  # c3_inside: where in the block
INSIDE_SCOPES = ("backbone", "neck", "all")
KINDS = ("backbone_end", "before_sppf", "after_c3", "neck", "c3_inside", "custom")


class PlacementError(ValueError):
    """The placement cannot be applied to this model."""


@dataclass(frozen=True)
class Placement:
    kind: str
    scales: tuple[str, ...] = ()  # neck: subset of Detect inputs (empty = all)
    point: str = "bottleneck_in"  # c3_inside
    scope: str = "all"  # c3_inside
    after: tuple[int, ...] = ()  # custom

    @classmethod
    def from_config(cls, cfg: Any) -> Placement:
        kind = str(cfg["name"])
        if kind not in KINDS:
            raise PlacementError(f"unknown placement '{kind}'; choose one of: {', '.join(KINDS)}.")
        scales = tuple(str(s) for s in (cfg.get("scales") or ()))
        bad = [s for s in scales if s not in SCALES]
        if bad:
            raise PlacementError(f"placement.scales has {bad}; use a subset of {list(SCALES)}.")
        point, scope = str(cfg.get("point", "bottleneck_in")), str(cfg.get("scope", "all"))
        if point not in INSIDE_POINTS:
            raise PlacementError(f"placement.point={point} is unknown; choose one of {', '.join(INSIDE_POINTS)}.")
        if scope not in INSIDE_SCOPES:
            raise PlacementError(f"placement.scope={scope} is unknown; choose one of {', '.join(INSIDE_SCOPES)}.")
        after = cfg.get("after") or ()
        if not all(isinstance(a, int) for a in after):
            raise PlacementError(f"placement.after must be a list of layer indices, got {list(after)}.")
        return cls(kind=kind, scales=scales, point=point, scope=scope, after=tuple(after))

    @property
    def label(self) -> str:
        """A short unique name for tables and file names."""
        if self.kind == "neck" and self.scales:
            return "neck-" + "".join(self.scales)
        if self.kind == "c3_inside":
            return f"c3_inside-{self.point}-{self.scope}"
        if self.kind == "custom" and self.after:
            return "custom-" + "_".join(map(str, self.after))
        return self.kind

    def check(self, dialect: Dialect) -> None:
        """Refuse a kind the model's dialect cannot carry out (``c3_inside`` without an attention block)."""
        if self.kind == "c3_inside" and not dialect.attention_hosts:
            others = [k for k in KINDS if k not in ("c3_inside", "custom")]
            raise PlacementError(
                f"placement c3_inside is not available on {dialect.family} models yet; choose "
                f"{', '.join(others[:-1])} or {others[-1]}."
            )

    def insert_after(self, spec: ModelSpec) -> list[int]:
        """Base indices after which a module is inserted (every kind but ``c3_inside``)."""
        return {
            "backbone_end": self._backbone_end,
            "before_sppf": self._before_sppf,
            "after_c3": self._after_c3,
            "neck": self._neck,
            "custom": self._custom,
        }[self.kind](spec)

    def replace_c3(self, spec: ModelSpec) -> list[int]:
        """Indices of the host layers (C3; C2f, C3k2) that become their attention blocks (``C3Attn``)
        (``c3_inside``)."""
        self.check(spec.dialect)
        hosts = spec.dialect.attention_hosts
        sections = {"backbone": ("backbone",), "neck": ("head",), "all": ("backbone", "head")}[self.scope]
        found = [i for i, l in enumerate(spec.layers) if l.module in hosts and l.section in sections]
        if not found:
            raise PlacementError(
                f"placement c3_inside found no {' or '.join(hosts)} layer in scope '{self.scope}'; "
                "choose another scope or placement."
            )
        return found

    def _backbone_end(self, spec: ModelSpec) -> list[int]:
        return [spec.section_indices("backbone")[-1]]

    def _before_sppf(self, spec: ModelSpec) -> list[int]:
        pools = spec.dialect.pools
        for i in spec.section_indices("backbone"):
            if spec.layers[i].module in pools:
                if i == 0:
                    break
                return [i - 1]
        raise PlacementError(
            f"placement before_sppf needs an {' or '.join(pools)} layer in the backbone; this model has none."
        )

    def _after_c3(self, spec: ModelSpec) -> list[int]:
        blocks = spec.dialect.csp_blocks
        found = [i for i in spec.section_indices("backbone") if spec.layers[i].module in blocks]
        if not found:
            raise PlacementError(
                f"placement after_c3 found no {blocks[0]} block in the backbone; choose another placement."
            )
        return found

    def _neck(self, spec: ModelSpec) -> list[int]:
        det = spec.detect_index()
        feeds = spec.layers[det].sources(det)
        names = [f"P{3 + j}" for j in range(len(feeds))]
        wanted = self.scales or tuple(names)
        missing = [s for s in wanted if s not in names]
        if missing:
            raise PlacementError(
                f"placement neck asks for scale(s) {', '.join(missing)} but this model detects at "
                f"{', '.join(names)}; set placement.scales to a subset of those."
            )
        return sorted(feeds[names.index(s)] for s in wanted)

    def _custom(self, spec: ModelSpec) -> list[int]:
        if not self.after:
            raise PlacementError("placement custom needs layer indices, e.g. placement.after=[4,6].")
        last = spec.detect_index()
        bad = [a for a in self.after if not 0 <= a < last]
        if bad:
            raise PlacementError(
                f"placement.after has {bad}, but layers after which a module can go are 0..{last - 1} in this model."
            )
        return sorted(set(self.after))
