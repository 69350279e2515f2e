"""Teach ultralytics' ``parse_model`` our module names, without editing the package.

``parse_model`` looks a yaml module name up in ``ultralytics.nn.tasks``' globals, so registering
a class means binding its name there. Modules it does not know get their yaml args verbatim and
keep the input width (``c2 = ch[f]``). It then sets ``i``, ``f``, ``type`` and ``np`` on every
module it builds: a class with a member of one of those names cannot be registered.

The attention-carrying blocks of ``c3_inside`` (``C2fAttention``, ``C3k2Attention``) need more:
``parse_model`` builds a C2f/C3k2 row by tests a registered name cannot pass (membership in its
own sets for the width and the repeats, and ``m is C3k2`` for the C3k blocks of the m/l/x scales
and for choosing Detect's current head over the legacy one). ``install_blocks`` therefore wraps
``parse_model`` (in ``ultralytics.nn.tasks``, where ``DetectionModel`` calls it): a yaml naming
one of our blocks is built by the package from the host row (``C3k2``, its own arguments), and
each such layer is then the package's block with the attention added (``around``), so the model
is the plain one plus the attention modules, weights named as in the plain model. A yaml without
our blocks goes to the package's ``parse_model`` untouched.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

from ablation.engines.dialect import Dialect

RESERVED = ("f", "i", "type", "np")  # set by parse_model on every layer


def register(classes: dict[str, type]) -> list[str]:
    """Bind ``classes`` by name into ``ultralytics.nn.tasks``; return their names."""
    from ultralytics.nn import tasks

    for name, cls in classes.items():
        existing = getattr(tasks, name, None)
        if existing is not None and existing is not cls and not _same_class(existing, cls):
            raise KeyError(f"ultralytics already defines '{name}'; rename our module to avoid shadowing it.")
        clash = reserved_members(cls)
        if clash:
            raise KeyError(f"'{name}' has a member named {clash[0]!r}, which ultralytics' parse_model overwrites.")
        setattr(tasks, name, cls)
    return sorted(classes)


def reserved_members(cls: type) -> list[str]:
    """Names of ``RESERVED`` that ``cls`` defines as class attributes or assigns in its source."""
    found = [n for n in RESERVED if any(n in vars(k) for k in cls.__mro__[:-1] if k.__module__.startswith("ablation"))]
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return found
    return found + [n for n in RESERVED if n not in found and f"self.{n} =" in source]


def _same_class(a: object, b: type) -> bool:
    return isinstance(a, type) and (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


class BlockParser:
    """``parse_model`` that builds our attention blocks from their host rows (see the module)."""

    def __init__(self, original: Any, blocks: dict[str, Any], dialect: Dialect) -> None:
        self.original, self.blocks, self.dialect = original, blocks, dialect

    def __call__(self, d: dict[str, Any], ch: Any, verbose: bool = True) -> Any:
        rows = [*d["backbone"], *d["head"]]
        found = {i: row for i, row in enumerate(rows) if row[2] in self.blocks}
        if not found:
            return self.original(d, ch, verbose=verbose)
        plain = copy.deepcopy(d)
        for section in ("backbone", "head"):
            plain[section] = [self._host_row(row) for row in plain[section]]
        model, save = self.original(plain, ch, verbose=verbose)
        for i, (_, _, name, args) in found.items():
            attention, attention_args = self.dialect.block_attention(name, list(args))
            point = args[len(self.dialect.host_arguments(name, list(args))) + 1]
            block = self.blocks[name].around(model[i], attention, point, *attention_args)
            block.type = f"{type(block).__module__}.{type(block).__qualname__}"
            block.np = sum(p.numel() for p in block.parameters())
            model[i] = block
        return model, save

    def _host_row(self, row: list[Any]) -> list[Any]:
        frm, number, name, args = row
        if name not in self.blocks:
            return row
        return [frm, number, self.dialect.host_of(name), self.dialect.host_arguments(name, list(args))]


def install_blocks(blocks: dict[str, Any], dialect: Dialect) -> None:
    """Make ``ultralytics.nn.tasks.parse_model`` build ``blocks`` (our attention blocks, by yaml
    name) from their host rows; idempotent."""
    from ultralytics.nn import tasks

    if isinstance(tasks.parse_model, BlockParser):
        tasks.parse_model.blocks.update(blocks)
        return
    tasks.parse_model = BlockParser(tasks.parse_model, dict(blocks), dialect)
