"""Carry a base model's weights across the surgery with the old → new index map.

Upstream's ``train.py`` loads ``weights=`` by key name and shape (``intersect_dicts``): after an
insertion the ``model.<i>.`` indices shift, so most tensors are dropped and some land in another
layer whose name and shape happen to match. Here every tensor of the base checkpoint is renamed
through ``SurgeryResult.index_map`` and kept only if its new layer is of the same class (or, as
the model's dialect says, the attention block that replaced it: ``C3Attn`` for a ``C3``) and its
shape matches; the rest keep the new model's own initialisation:

- inserted modules and the attention inside ``C3Attn`` have keys no base tensor maps to;
- Detect's convolutions when the class count differs (their shape differs);
- Detect's ``anchors``: always the new model's, from its yaml, as upstream does when a ``cfg`` is
  given (upstream's AutoAnchor then checks them against the dataset).

``write_transferred`` saves only the transferred tensors, as upstream's ``train.py`` expects a
pretrained checkpoint (``ckpt['model'].float().state_dict()``); its ``intersect_dicts`` then keeps
exactly these tensors and every other tensor keeps the initialisation of that training run (its
seed). No optimizer, EMA or epoch of the base checkpoint is carried: training starts at epoch 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ablation.engines import Dialect, engine

_LAYER_KEY = re.compile(r"^(model\.)(\d+)(\..*)$")
ANCHORS = "anchors: the new model's own, from its yaml (as upstream does when a cfg is given)"


class CheckpointError(ValueError):
    """``train.weights`` cannot be used: unreadable, or not a checkpoint of the base model."""


def carry_state_dict(state: Mapping[str, torch.Tensor], index_map: Mapping[int, int]) -> dict[str, torch.Tensor]:
    """Rename ``model.<old>.*`` keys of a YOLOv5 ``Model`` state dict to ``model.<new>.*``."""
    return {_renamed(key, index_map): value for key, value in state.items()}


def _renamed(key: str, index_map: Mapping[int, int]) -> str:
    match = _LAYER_KEY.match(key)
    return f"{match[1]}{index_map[int(match[2])]}{match[3]}" if match else key


def layer_of(key: str) -> int | None:
    """``model.<i>.…`` → ``i``."""
    match = _LAYER_KEY.match(key)
    return int(match[2]) if match else None


# ----------------------------------------------------------------------------- reading


def read_checkpoint(path: str | Path, engine_name: str | None = None) -> dict[str, torch.Tensor]:
    """The model tensors of a ``.pt`` file (FP32, CPU): an upstream checkpoint (its ``model``, as
    upstream's train.py reads ``--weights``; its ``ema`` only when it has no model) or a bare
    state dict."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise CheckpointError(f"checkpoint {path} not found; pass train.weights=/absolute/path/to/base.pt.")
    try:
        loaded = _load(file, engine_name)
    except Exception as err:
        raise CheckpointError(
            f"cannot read checkpoint {file} ({type(err).__name__}: {_first_line(err)}); "
            "pass a file saved by torch.save: an upstream YOLOv5 checkpoint or a model state dict."
        ) from None
    return {k: _fp32(v) for k, v in _model_state(loaded, file).items()}


def _load(file: Path, engine_name: str | None) -> Any:
    """Tensors only if that is all the file holds; otherwise the whole pickle, for this file only
    (the user named it). Checkpoints pickled by upstream's repo name its modules ``models.*``."""
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception:
        pass
    return engine(engine_name).load_checkpoint(file)


def _model_state(loaded: Any, file: Path) -> Mapping[str, torch.Tensor]:
    if isinstance(loaded, Mapping) and any(isinstance(loaded.get(k), nn.Module) for k in ("model", "ema")):
        # upstream's train.py reads ``ckpt['model']`` (after training strip_optimizer has put the EMA there)
        module = loaded["model"] if isinstance(loaded.get("model"), nn.Module) else loaded["ema"]
        return module.state_dict()
    if isinstance(loaded, Mapping) and isinstance(loaded.get("model"), Mapping):
        loaded = loaded["model"]
    if isinstance(loaded, nn.Module):
        return loaded.state_dict()
    if isinstance(loaded, Mapping) and loaded and all(isinstance(v, torch.Tensor) for v in loaded.values()):
        return loaded
    keys = ", ".join(map(str, list(loaded)[:5])) if isinstance(loaded, Mapping) else type(loaded).__name__
    raise CheckpointError(
        f"checkpoint {file} holds neither a model nor a state dict ({keys}); "
        "pass a checkpoint of the base model (upstream's last.pt/best.pt, or model.state_dict())."
    )


def _fp32(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().cpu().float() if tensor.is_floating_point() else tensor.detach().cpu()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else "no message"


# ----------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class BaseWeights:
    """A checkpoint checked against the base model it must come from."""

    path: str
    state: dict[str, torch.Tensor]
    nc: int
    layer_types: tuple[type, ...]  # the base model's layer classes, by index
    dialect: Dialect  # the base yaml's: which new layer classes take a base layer's tensors
    engine: str | None = None  # the engine that builds the base and the new models (None: the default)


def check_base(
    state: dict[str, torch.Tensor],
    base_yaml: str | Path,
    path: str,
    model: str,
    dialect: Dialect,
    engine_name: str | None = None,
) -> BaseWeights:
    """``state`` must be the base model's (``model``, built from ``base_yaml`` in ``dialect`` by the
    engine ``engine_name``): the same tensors, the same shapes; only the class count may differ (the
    dialect reads it from the checkpoint's detection head)."""
    from ablation.plan.preflight import build_model

    nc = dialect.checkpoint_classes(state, _detect_index(state))
    base = build_model(base_yaml, nc, engine_name)
    mismatch = _first_mismatch(state, base.state_dict(), model)
    if mismatch:
        raise CheckpointError(
            f"checkpoint {path} does not match model {model} ({mismatch}); pass a checkpoint of the base model."
        )
    return BaseWeights(path, state, _nc(base), tuple(type(m) for m in base.model), dialect, engine_name)


def _detect_index(state: Mapping[str, torch.Tensor]) -> int:
    layers = [i for i in map(layer_of, state) if i is not None]
    return max(layers) if layers else -1


def _first_mismatch(state: Mapping[str, torch.Tensor], base: Mapping[str, torch.Tensor], model: str) -> str:
    """The first layer (in order) whose tensors differ, in words; "" if none."""
    position = {key: i for i, key in reversed(list(enumerate([*base, *state])))}  # the model's own order

    def order(key: str) -> tuple[int, int]:
        layer = layer_of(key)
        return (layer if layer is not None else -1, position[key])

    for key in sorted(position, key=order):
        where = f"layer {layer_of(key)}" if layer_of(key) is not None else key
        if key not in base:
            return f"{where}: {key} is not in {model}"
        if key not in state:
            return f"{where}: {key} is missing from the checkpoint"
        if state[key].shape != base[key].shape:
            return f"{where}: {key} is {list(state[key].shape)} in the checkpoint, {list(base[key].shape)} in {model}"
    return ""


# ----------------------------------------------------------------------------- transferring


@dataclass
class Transfer:
    """Which base tensors a new model gets: ``moved`` new key ← old key (every transferred one,
    renamed or not), ``skipped`` old key → why not."""

    total: int
    moved: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def count(self) -> str:
        """``transferred/base tensors``, as logged (upstream logs ``Transferred a/b`` likewise)."""
        return f"{len(self.moved)}/{self.total}"

    def reshaped(self) -> list[str]:
        """The base tensors left out because the new model's tensor has another shape."""
        return [key for key, why in self.skipped.items() if why.startswith("shape ")]

    def report(self) -> str:
        """The artifact: tensors not transferred with the reason, then the renamed ones."""
        lines = [f"# {self.count} base tensors transferred; not transferred ({len(self.skipped)}):"]
        lines += [f"{key}\t{why}" for key, why in self.skipped.items()]
        renamed = {new: old for new, old in self.moved.items() if new != old}
        lines.append(f"# moved to another index ({len(renamed)}), old -> new:")
        lines += [f"{old} -> {new}" for new, old in renamed.items()]
        return "\n".join(lines) + "\n"


def transfer(
    base: BaseWeights, index_map: Mapping[int, int], model: nn.Module
) -> tuple[Transfer, dict[str, torch.Tensor]]:
    """Map ``base`` into ``model`` (the new model, built from the planned yaml with its class
    count): the record and the tensors to load, keyed by ``model``'s names."""
    _check_layers(base, index_map, model)
    target = model.state_dict()
    record, tensors = Transfer(total=len(base.state)), {}
    for old, value in base.state.items():
        new = _renamed(old, index_map)
        why = _why_not(new, value, target, (base.nc, _nc(model)), base.dialect.detect[0])
        if why:
            record.skipped[old] = why
        else:
            record.moved[new], tensors[new] = old, value
    return record, tensors


def _check_layers(base: BaseWeights, index_map: Mapping[int, int], model: nn.Module) -> None:
    """Never into another layer: every mapped base layer is, in the new model, of its class (or
    the dialect's attention block that replaced it)."""
    for old, new in index_map.items():
        was, now = base.layer_types[old], type(model.model[new])
        if now is not was and not base.dialect.carries(was.__name__, now.__name__):
            raise RuntimeError(
                f"surgery index map sends base layer {old} ({was.__name__}) to layer {new} "
                f"({now.__name__}); this is a bug in ablation.plan.surgery."
            )


def _why_not(new: str, value: torch.Tensor, target: Mapping[str, torch.Tensor], nc: tuple[int, int], head: str) -> str:
    """Why the base tensor renamed ``new`` is not transferred ("" when it is); ``nc``: the class
    counts (checkpoint, new model), ``head``: the detection head's name, for the sentence."""
    nc_old, nc_new = nc
    if new.endswith(".anchors"):
        return ANCHORS
    if new not in target:
        return f"no {new} in the new model"
    if value.shape != target[new].shape:
        detect = f" ({head}: {nc_old} classes in the checkpoint, {nc_new} in the new model)" if nc_old != nc_new else ""
        return f"shape {list(value.shape)} in the checkpoint, {list(target[new].shape)} in the new model{detect}"
    return ""


def _nc(model: nn.Module) -> int:
    return int(model.yaml["nc"])


def transfer_weights(
    base: BaseWeights, index_map: Mapping[int, int], yaml: str | Path, nc: int, out: str | Path
) -> Transfer:
    """Build the new model from ``yaml`` with ``nc`` classes, transfer ``base`` into it and write the
    checkpoint upstream's ``train.py`` starts from (``write_transferred``)."""
    from ablation.plan.preflight import build_model

    record, tensors = transfer(base, index_map, build_model(yaml, nc, base.engine))
    write_transferred(tensors, out, base.path)
    return record


def write_transferred(tensors: Mapping[str, torch.Tensor], out: str | Path, source: str) -> Path:
    """A checkpoint for upstream's ``weights=`` (and ultralytics' ``pretrained=``): ``model`` is a
    module whose state dict is exactly ``tensors`` (plain torch containers, its layers an
    ``nn.Sequential`` as in both packages' models: unpickling needs torch only); no optimizer, no
    EMA, epoch -1, so the package starts a fresh training at epoch 0 (``resume`` is never set by us)."""
    checkpoint = {
        "model": _holder(tensors),
        "ema": None,
        "optimizer": None,
        "epoch": -1,
        "best_fitness": None,
        "transferred_from": source,
    }
    path = Path(out)
    torch.save(checkpoint, path)
    return path


def _holder(tensors: Mapping[str, torch.Tensor]) -> nn.Module:
    root = nn.Module()
    for key, value in tensors.items():
        *parents, leaf = key.split(".")
        module = root
        for depth, name in enumerate(parents):
            if name not in module._modules:
                # ``model``: the layers, indexable (ultralytics' load reads ``model.model[-1]``)
                module.add_module(name, nn.Sequential() if (depth, name) == (0, "model") else nn.Module())
            module = module._modules[name]  # type: ignore[assignment]
        module.register_buffer(leaf, value.clone())
    return root
