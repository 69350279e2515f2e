"""A model yaml as an editable layer graph: load, reference arithmetic, re-emit.

The yaml stays the single source of truth (as in upstream's ``parse_model``): we parse it into
``Layer`` records, transform the list, and emit a yaml that upstream builds unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ablation.engines.dialect import Dialect, Multiples

SECTIONS = ("backbone", "head")


class ModelYamlError(ValueError):
    """The model yaml cannot be read as a model of its engine's dialect."""


@dataclass(frozen=True)
class Layer:
    """One ``[from, number, module, args]`` row, plus where it came from."""

    frm: int | list[int]
    number: int
    module: str
    args: list[Any]
    section: str
    base_index: int | None = None  # index in the base yaml; None for inserted layers
    note: str = ""

    def sources(self, index: int) -> list[int]:
        """Absolute indices this layer reads (``-1`` before layer 0 is the image)."""
        refs = self.frm if isinstance(self.frm, list) else [self.frm]
        return [index + r if r < 0 else r for r in refs]

    def row(self) -> list[Any]:
        return [self.frm, self.number, self.module, list(self.args)]


@dataclass
class ModelSpec:
    """A parsed model yaml: header keys (nc, multiples, anchors, ...), the layer list and the
    dialect its module names are read in (the engine's)."""

    header: dict[str, Any]
    layers: list[Layer]
    dialect: Dialect
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path, dialect: Dialect) -> ModelSpec:
        path = Path(path)
        if not path.is_file():
            raise ModelYamlError(f"model yaml {path} does not exist; pass an existing file as model.cfg.")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ModelYamlError(f"model yaml {path} is not valid YAML ({err}).") from None
        return cls.from_dict(data, dialect, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, dialect: Dialect, source: str = "") -> ModelSpec:
        where, family = source or "the model yaml", dialect.family
        if not isinstance(data, dict) or not all(isinstance(data.get(s), list) for s in SECTIONS):
            raise ModelYamlError(f"{where} has no 'backbone' and 'head' layer lists; it is not a {family} model yaml.")
        missing = [k for k in dialect.header_keys if k not in data]
        if missing:
            raise ModelYamlError(f"{where} lacks {', '.join(missing)}; copy them from a {family} model yaml.")
        layers: list[Layer] = []
        for section in SECTIONS:
            for row in data[section]:
                if not (isinstance(row, list) and len(row) == 4 and isinstance(row[3], list)):
                    raise ModelYamlError(
                        f"{where}: layer {len(layers)} is {row!r}, expected [from, number, module, args]."
                    )
                frm, number, module, args = row
                layers.append(Layer(frm, number, str(module), list(args), section, base_index=len(layers)))
        header = {k: copy.deepcopy(v) for k, v in data.items() if k not in SECTIONS}
        spec = cls(header=header, layers=layers, dialect=dialect, source=source)
        spec.validate()
        return spec

    def validate(self) -> None:
        for i, layer in enumerate(self.layers):
            for s in layer.sources(i):
                if s >= i or (s < 0 and i > 0):
                    raise ModelYamlError(
                        f"layer {i} ({layer.module}) reads layer {s}, which does not precede it; fix its 'from' index."
                    )

    @property
    def multiples(self) -> Multiples:
        """Depth and width multiples (and the channel cap), as the dialect reads the header."""
        return self.dialect.multiples(self.header)

    def section_indices(self, section: str) -> list[int]:
        return [i for i, layer in enumerate(self.layers) if layer.section == section]

    def detect_index(self) -> int:
        last = len(self.layers) - 1
        if self.layers[last].module not in self.dialect.detect:
            raise ModelYamlError(f"the last layer is {self.layers[last].module}, expected {self.dialect.detect[0]}.")
        return last

    def to_dict(self) -> dict[str, Any]:
        data = copy.deepcopy(self.header)
        for section in SECTIONS:
            data[section] = [layer.row() for layer in self.layers if layer.section == section]
        return data

    def dump(self) -> str:
        """Emit the yaml with one flow-style row per layer and its index as a comment."""
        lines = [f"# {note}" for note in self.notes]
        lines.append(yaml.safe_dump(self.header, sort_keys=False, default_flow_style=None, width=4096).rstrip())
        for section in SECTIONS:
            lines.append("")
            lines.append(f"{section}:")
            for i, layer in enumerate(self.layers):
                if layer.section != section:
                    continue
                row = yaml.safe_dump(layer.row(), default_flow_style=True, width=4096).strip()
                origin = f"base {layer.base_index}" if layer.base_index is not None else "inserted"
                comment = f"{i} ({origin}{': ' + layer.note if layer.note else ''})"
                lines.append(f"  - {row}  # {comment}")
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.dump())
        return path

    def annotated(self, note: str) -> ModelSpec:
        """A copy with ``note`` as its first header comment (the spec itself is often a shared base)."""
        return replace(self, notes=[note, *self.notes])

    def with_layers(self, layers: list[Layer], note: str | None = None) -> ModelSpec:
        notes = self.notes + ([note] if note else [])
        return replace(self, layers=layers, notes=notes)
