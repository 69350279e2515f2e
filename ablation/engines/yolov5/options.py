"""Training options checked at planning: a bad ``train.*`` value is refused before anything trains.

Upstream checks most of its options only when it uses them, deep inside training:
``epochs=0`` trains, then divides by zero; ``batch=-3`` fails when the data loader is built; an
unknown key (``+train.epoch=3``) is set on its options and silently ignored. Here each option of
``conf/train/default.yaml`` has its type and range, every other key must be one of upstream
``train.py``'s options (read from its argument parser's source, nothing imported), and each
problem is one clause naming the fix.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablation.engines.yolov5.compat import DETERMINISTIC_MODES
from ablation.engines.yolov5.hyps import resolve_hyp
from ablation.engines.yolov5.paths import upstream_models_dir

Check = Callable[[Any], bool]


def _int(low: int | None = None, *also: int) -> Check:
    """A whole number (not a bool) of at least ``low``, or one of ``also``."""
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and (low is None or v >= low or v in also)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _device(v: Any) -> bool:
    """Upstream's ``select_device``: "", cpu, mps, or CUDA indices ("0", "0,1", "cuda:0")."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return v >= 0
    text = str(v).strip().lower().replace("cuda:", "")
    return isinstance(v, str) and bool(re.fullmatch(r"|cpu|mps|\d+(,\d+)*", text))


def _hyp(v: Any) -> bool:
    try:
        return isinstance(v, str) and resolve_hyp(v).is_file()
    except FileNotFoundError:
        return False


def _freeze(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(_int(0)(i) for i in v)


# key → (valid?, what is expected and how to fix it)
RULES: dict[str, tuple[Check, str]] = {
    "epochs": (_int(1), "a whole number of epochs, at least 1; e.g. train.epochs=100"),
    "batch": (_int(1, -1), "a batch size of at least 1, or -1 for upstream's AutoBatch; e.g. train.batch=16"),
    "imgsz": (
        _int(1),
        "an image size in pixels, at least 1 (upstream rounds it to a multiple of the stride); e.g. train.imgsz=640",
    ),
    "workers": (_int(0), "a number of data loader workers, 0 or more; e.g. train.workers=8"),
    "patience": (
        _int(0),
        "a number of epochs without improvement, 0 or more (0 never stops early); e.g. train.patience=100",
    ),
    "save_period": (_int(), "a whole number of epochs (below 1: no periodic checkpoints); e.g. train.save_period=-1"),
    "label_smoothing": (
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1,
        "a label smoothing epsilon from 0 up to (not including) 1; e.g. train.label_smoothing=0.1",
    ),
    "optimizer": (
        lambda v: v in ("SGD", "Adam", "AdamW"),
        "one of SGD, Adam, AdamW (as written); e.g. train.optimizer=AdamW",
    ),
    "cache": (lambda v: v in (None, False, True, "ram", "disk"), "null, ram or disk; e.g. train.cache=ram"),
    "freeze": (
        _freeze,
        "a list of layer indices, 0 or more ([N]: the first N layers, [0]: none); e.g. train.freeze=[10]",
    ),
    "device": (_device, 'cpu, a GPU index or a list of them, or "" for auto; e.g. train.device=0 or train.device=cpu'),
    "hyp": (
        _hyp,
        "a file of yolov5/data/hyps, ablation/engines/yolov5/hyps or an existing path; e.g. train.hyp=hyp.scratch-low.yaml",
    ),
    "weights": (
        lambda v: isinstance(v, str),
        'a checkpoint path, or "" to train from scratch; e.g. train.weights=/abs/path/base.pt',
    ),
    "amp": (lambda v: str(v).lower() in ("auto", "true", "false"), "auto, true or false; e.g. train.amp=auto"),
    "deterministic": (
        lambda v: v in DETERMINISTIC_MODES,
        f"one of {', '.join(DETERMINISTIC_MODES)}; e.g. train.deterministic=warn",
    ),
    **{
        flag: (_bool, f"true or false; e.g. train.{flag}=true")
        for flag in (
            "rect",
            "cos_lr",
            "multi_scale",
            "single_cls",
            "image_weights",
            "noautoanchor",
            "noval",
            "nosave",
            "noplots",
            "quad",
            "sync_bn",
        )
    },
}
# upstream options the job sets itself (run.upstream_options): the override to use instead
SET_BY_ABLATION = {
    "batch_size": "train.batch",
    "cfg": "model=... or model.cfg=...",
    "data": "data.path=...",
    "seed": "seed=...",
    "project": "hydra.sweep.dir=...",
    "name": "hydra.sweep.dir=...",
    "exist_ok": "hydra.sweep.dir=...",
}


def option_errors(train: DictConfig | Mapping[str, Any] | None) -> str:
    """ "" if every ``train.*`` option is valid, else one sentence with a clause per bad option."""
    options: dict[str, Any] = (
        OmegaConf.to_container(train, resolve=True) if isinstance(train, DictConfig) else dict(train or {})  # type: ignore[assignment]
    )
    problems = []
    for key, value in options.items():
        if key in RULES:
            valid, expected = RULES[key]
            if not valid(value):
                problems.append(f"train.{key}={_shown(value)} is not valid: expected {expected}")
        elif key in SET_BY_ABLATION:
            problems.append(f"train.{key} is set by ablation; use {SET_BY_ABLATION[key]} instead")
        elif key not in upstream_options():
            close = difflib.get_close_matches(key, [*RULES, *upstream_options()], n=1)
            hint = f"the nearest one is train.{close[0]}" if close else "see python -m yolov5.train --help"
            problems.append(f"train.{key} is not an option of upstream's train.py; {hint}")
    return ("; ".join(problems) + ".") if problems else ""


@lru_cache(maxsize=1)
def upstream_options() -> frozenset[str]:
    """The keyword names ``yolov5.train.run`` accepts: the dests of ``parse_opt``'s arguments."""
    source = (upstream_models_dir().parent / "train.py").read_text()
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("--"):
                names.add(first.value[2:].replace("-", "_"))
    return frozenset(names)


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) and value.strip() != value or value == "" else str(value)
