"""Plan: grid entries → generated yamls → preflight with each dataset's class count → one row per config.

A sweep plans every config before its first job trains (one bad config stops it, nothing
trained) and its jobs train the planned yaml; ``python -m ablation.plan`` is this step alone, so
both see the same names, yamls, parameter counts and errors. Seeds of one config share a row.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from omegaconf import DictConfig, OmegaConf

from ablation.config.grid import GridEntry
from ablation.data.dataset import Dataset
from ablation.data.resolve import DataError, resolve
from ablation.deploy.guarded import Runner
from ablation.engines import engine_of
from ablation.plan.preflight.pool import preflight_many
from ablation.plan.surgery import BASELINE, ModelSpec, Placement, SurgeryResult, apply
from ablation.plan.surgery.feature_size import oversized
from ablation.plan.surgery.widen import widen

if TYPE_CHECKING:  # torch is imported only when train.weights is set
    from ablation.plan.surgery.weights import BaseWeights, CheckpointError

Checkpoints = dict[tuple[str, str], Union["BaseWeights", "CheckpointError"]]  # (checkpoint, base yaml) → checked

NOT_TRANSFERRED = "not transferred: shapes differ"  # a wider baseline with train.weights
COLUMNS = [
    "name",
    "model",
    "attention",
    "placement",
    "yaml",
    "layers",
    "nc",
    "params",
    "gflops",
    "weights_transferred",
    "onnx",
    "onnx_max_rel_diff",
    "error",
]


@dataclass
class PlanRow:
    name: str
    model: str
    attention: str
    placement: str
    yaml: str = ""  # file name in the plan folder
    layers: int = 0
    nc: int = 0
    params: int = 0
    gflops: float = 0.0
    weights_transferred: str = ""  # "transferred/base tensors" when train.weights is set
    weights: str = ""  # the checkpoint the job starts from (surgery.weights), file name in the plan folder
    onnx: str = ""  # the ONNX check (conf/onnx): "ok", "off", or why the model does not export
    onnx_max_rel_diff: float | None = None  # ONNX Runtime vs PyTorch, largest relative difference
    error: str = ""
    summary: str = field(default="", repr=False)  # upstream's layer table, for the run's artifacts
    # The dataset's fingerprint when planned: the job's identity takes it instead of listing and
    # hashing every label file again (seconds per config on a large set), and so equals the sweep's.
    data_fingerprint: str = field(default="", repr=False)
    engine: str = field(default="", repr=False)  # the engine that builds the yaml (preflight)

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def onnx_warning(self) -> str:
        """Why the model does not export ("" when it does or was not checked)."""
        return "" if self.onnx in ("", "ok", "off") else self.onnx

    def record(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


def plan(
    entries: list[GridEntry], out: Path, preflight_cfg: DictConfig | dict[str, Any], checks: Runner | None = None
) -> list[PlanRow]:
    """Plan every entry into ``out``: ``<name>.yaml``, ``<name>.json`` (the row) and the rows.

    The preflight and the ONNX check build models with torch; ``checks`` (``deploy.guarded.Runner``)
    runs a few of them in a process that has imported it already (else: here, and the ONNX check
    in a child that may die).

    With ``train.weights``, the checkpoint is checked against the base model here (a mismatch is
    the row's error) and each config's starting checkpoint is written: ``<name>.pt``, with
    ``<name>.weights.txt`` listing what was not transferred (``surgery.weights``)."""
    out.mkdir(parents=True, exist_ok=True)
    datasets: dict[str, Dataset | DataError] = {}
    bases: dict[str, ModelSpec] = {}
    checkpoints: Checkpoints = {}
    surgeries: dict[str, tuple[GridEntry, SurgeryResult]] = {}
    rows: list[PlanRow] = []
    for entry in {e.name: e for e in entries}.values():  # seeds of a config share name and model
        row = PlanRow(
            entry.name,
            entry.model,
            entry.attention,
            entry.placement,
            error=engine_of(entry.cfg).option_errors(entry.cfg.get("train")),
            data_fingerprint=dict(entry.fingerprints).get("data", ""),
            engine=engine_of(entry.cfg).name,
        )
        data = _dataset(entry.cfg.data, out, datasets) if row.ok else None
        if isinstance(data, DataError):
            row.error = str(data)
        elif data is not None:
            row.nc = data.with_single_cls(_single_cls(entry)).nc  # the head's classes, as upstream's train.py
            result = _generate(entry, row, out, bases)
            if result is not None and _weights(entry):
                surgeries[row.name] = (entry, result)
                _check_weights(entry, row, checkpoints)
        rows.append(row)
    _preflight([r for r in rows if r.ok], out, preflight_cfg, checks)
    workers = int(preflight_cfg.get("workers", 2))
    _onnx([r for r in rows if r.ok], out, {e.name: e for e in entries}, workers, checks)
    for row in rows:
        if row.ok and row.name in surgeries:
            _transfer(*surgeries[row.name], row, out, checkpoints)
    for row in rows:
        (out / f"{row.name}.json").write_text(json.dumps(asdict(row), indent=1))
    return rows


def load_row(path: str | Path) -> PlanRow:
    """A planned config, as ``plan`` wrote it."""
    return PlanRow(**json.loads(Path(path).read_text()))


def _dataset(cfg: DictConfig, out: Path, seen: dict[str, Dataset | DataError]) -> Dataset | DataError:
    key = json.dumps(OmegaConf.to_container(cfg, resolve=True), sort_keys=True, default=str)
    if key not in seen:
        try:
            seen[key] = resolve(cfg, out / ".data" / str(len(seen)))
        except DataError as err:
            seen[key] = err
    return seen[key]


def _single_cls(entry: GridEntry) -> bool:
    return bool((entry.cfg.get("train") or {}).get("single_cls"))


def _generate(entry: GridEntry, row: PlanRow, out: Path, bases: dict[str, ModelSpec]) -> SurgeryResult | None:
    """Surgery for one entry: writes ``out/<name>.yaml`` or records in ``row`` why it cannot."""
    try:
        eng = engine_of(entry.cfg)
        base = eng.model_yaml(str(entry.cfg.model.cfg))
        if str(base) not in bases:
            bases[str(base)] = ModelSpec.load(base, eng.dialect)
        result = surgery(entry, bases[str(base)])
        if error := oversized(result.spec, entry.cfg):  # MHSA's relative positions bound its maps
            raise ValueError(error)
        spec = result.spec.annotated(f"{entry.name}: generated by ablation from {base.name}")
        row.yaml, row.layers = spec.write(out / f"{entry.name}.yaml").name, len(spec.layers)
        return result
    except (ValueError, KeyError, TypeError, FileNotFoundError) as err:
        row.error = str(err.args[0] if isinstance(err, KeyError) and err.args else err)
        return None


def surgery(entry: GridEntry, base: ModelSpec) -> SurgeryResult:
    """The entry's model: ``base`` widened (a wider baseline) or with its attention placed."""
    kwargs: dict[str, Any] = OmegaConf.to_container(
        entry.cfg.attention.get("kwargs") or OmegaConf.create(), resolve=True
    )  # type: ignore[assignment]
    placement = Placement(kind="none") if entry.attention == BASELINE else Placement.from_config(entry.cfg.placement)
    spec = base if entry.widen is None else widen(base, entry.widen)
    return apply(spec, entry.attention, kwargs, placement)


def _weights(entry: GridEntry) -> str:
    """``train.weights`` as an absolute path ("" when training from scratch)."""
    weights = str((entry.cfg.get("train") or {}).get("weights") or "")
    return str(Path(weights).expanduser().resolve()) if weights else ""


def _checkpoint_key(entry: GridEntry) -> tuple[str, str]:
    return _weights(entry), str(engine_of(entry.cfg).model_yaml(str(entry.cfg.model.cfg)))


def _check_weights(entry: GridEntry, row: PlanRow, checkpoints: Checkpoints) -> None:
    """The checkpoint against the base model, once per (checkpoint, base yaml); a mismatch is the row's error."""
    from ablation.plan.surgery.weights import CheckpointError, check_base, read_checkpoint

    key = _checkpoint_key(entry)
    if key not in checkpoints:
        try:
            eng = engine_of(entry.cfg)
            state = read_checkpoint(key[0], eng.name)
            checkpoints[key] = check_base(state, key[1], key[0], entry.model, eng.dialect, eng.name)
        except CheckpointError as err:
            checkpoints[key] = err
    if isinstance(checkpoints[key], CheckpointError):
        row.error = str(checkpoints[key])


def _transfer(entry: GridEntry, result: SurgeryResult, row: PlanRow, out: Path, checkpoints: Checkpoints) -> None:
    """Write ``out/<name>.pt`` (the base weights through the index map) and ``out/<name>.weights.txt``."""
    from ablation.plan.surgery.weights import transfer_weights

    base = checkpoints[_checkpoint_key(entry)]
    assert not isinstance(base, Exception)  # rows whose checkpoint failed the check are not ok
    record = transfer_weights(base, result.index_map, out / row.yaml, row.nc, out / f"{row.name}.pt")
    (out / f"{row.name}.weights.txt").write_text(record.report())
    row.weights, row.weights_transferred = f"{row.name}.pt", record.count
    if entry.widen is not None and record.reshaped():
        # a wider model cannot take the base tensors: it trains from its own initialisation
        (out / row.weights).unlink()
        row.weights, row.weights_transferred = "", NOT_TRANSFERRED


def _preflight(rows: list[PlanRow], out: Path, cfg: DictConfig | dict[str, Any], checks: Runner | None) -> None:
    """Check each distinct (yaml, class count) once, in parallel workers."""
    distinct: dict[tuple[str, int, str], list[PlanRow]] = {}
    for row in rows:
        text = "\n".join(l for l in (out / row.yaml).read_text().splitlines() if not l.startswith("#"))
        distinct.setdefault((text, row.nc, row.engine), []).append(row)
    firsts = [group[0] for group in distinct.values()]
    results = preflight_many(
        [(str(out / r.yaml), r.nc, r.engine or None) for r in firsts],
        imgsz=int(cfg.get("imgsz", 64)),
        gflops_imgsz=int(cfg.get("gflops_imgsz", 640)),
        workers=int(cfg.get("workers", 2)),
        step=bool(cfg.get("enabled", True)),
        runner=checks,
    )
    for group, res in zip(distinct.values(), results):
        for row in group:
            row.params, row.gflops, row.error, row.summary = res.params, res.gflops, res.error, res.summary


def _onnx(rows: list[PlanRow], out: Path, entries: dict[str, GridEntry], workers: int, checks: Runner | None) -> None:
    """The ONNX check (``conf/onnx``) of each distinct (yaml, class count, engine, settings) once;
    with ``onnx.require=true`` a failure is the row's error."""
    from ablation.deploy.settings import OnnxSettings
    from ablation.plan.preflight.deploy import OFF, check_many, outcome

    distinct: dict[tuple[str, int, str, OnnxSettings], list[PlanRow]] = {}
    for row in rows:
        settings = OnnxSettings.from_config(_container(entries[row.name].cfg.get("onnx")))
        if not settings.enabled:
            row.onnx = OFF
            continue
        text = "\n".join(l for l in (out / row.yaml).read_text().splitlines() if not l.startswith("#"))
        distinct.setdefault((text, row.nc, row.engine, settings), []).append(row)
    by_settings: dict[OnnxSettings, list[list[PlanRow]]] = {}
    for (_, _, _, settings), group in distinct.items():
        by_settings.setdefault(settings, []).append(group)
    for settings, groups in by_settings.items():
        items = [(str(out / g[0].yaml), g[0].nc, g[0].engine or None) for g in groups]
        for group, (diff, error) in zip(groups, check_many(items, settings, workers, checks)):
            for row in group:
                for key, value in outcome(diff, error).items():
                    setattr(row, key, value)
                if error and settings.require:
                    row.error = f"the ONNX check failed (onnx.require=true): {error}"


def _container(node: Any) -> dict[str, Any] | None:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node  # type: ignore[return-value]
