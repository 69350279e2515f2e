"""Our training options (``conf/train``, built into a job by ``ablation.job.child``) as the
arguments of ultralytics' trainer.

The job's options are YOLOv5 ``train.run`` keyword arguments (``cfg``, ``batch_size``, ``noval``
...). ``trainer_args`` translates each to the package's own argument; options without an
equivalent are refused when set away from their YOLOv5 default (never silently dropped), and any
other key is passed through, so ``+train.close_mosaic=0`` reaches the package. The package
checks names, types and ranges itself (``get_cfg``): ``option_errors`` runs that check at planning.

Hyperparameters: ``train.hyp`` is ``default`` (the package's own defaults; the train group's
YOLOv5 default name ``hyp.scratch-low.yaml`` means the same: each engine's default) or a yaml of
the package's hyperparameter names (``lr0``, ``box``, ``mosaic``...), passed as arguments.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_HYPS = ("default", "default.yaml", "hyp.scratch-low.yaml", "", "None")
DETERMINISTIC_MODES = ("strict", "warn", "off")
AMP_POLICIES = ("auto", "true", "false")

# our (YOLOv5) name → the package's name, same meaning
RENAMED = {"cfg": "model", "batch_size": "batch"}
# YOLOv5 "no..." flags → the package's positive flag
NEGATED = {"noval": "val", "nosave": "save", "noplots": "plots"}
# YOLOv5 options without an equivalent in the package: allowed only at this value
UNSUPPORTED = {"image_weights": False, "noautoanchor": False, "quad": False, "sync_bn": False, "label_smoothing": 0.0}
OURS = ("amp", "deterministic", "resume", "hyp", "weights")  # applied around the trainer, see trainer_args


def resolve_hyp(name: str | Path) -> Path:
    """``default`` (and the YOLOv5 default name) → the package's ``cfg/default.yaml``; else a path."""
    from ablation.engines.ultralytics.models import package_dir

    if str(name) in DEFAULT_HYPS:
        return package_dir() / "cfg" / "default.yaml"
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    raise FileNotFoundError(
        f"hyperparameter file '{name}' not found; the ultralytics engine takes train.hyp=default "
        "(the package's own values) or a path to a yaml of its hyperparameters (lr0, box, mosaic, ...)."
    )


def hyperparameters(hyp: str | Path) -> dict[str, Any]:
    """The arguments a hyperparameter file sets (none for the package's defaults)."""
    import yaml

    path = resolve_hyp(hyp)
    if path == resolve_hyp("default"):
        return {}
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path} is not a mapping of hyperparameters.")
    return values


def trainer_args(options: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``options`` as the trainer's arguments, and one clause per option it cannot express."""
    args: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in options.items():
        if key in OURS:
            continue
        if key in UNSUPPORTED:
            if value != UNSUPPORTED[key]:
                problems.append(f"train.{key}={value} has no equivalent in ultralytics; leave it at {UNSUPPORTED[key]}")
        elif key in NEGATED:
            args[NEGATED[key]] = not value
        elif key == "freeze":  # YOLOv5's [N] = the first N layers ([0]: none), a longer list = those layers
            args["freeze"] = (value[0] or None) if isinstance(value, list) and len(value) == 1 else value
        elif key == "multi_scale":  # YOLOv5's true = sizes 0.5x..1.5x imgsz
            args["multi_scale"] = 0.5 if value is True else 0.0 if value is False else value
        elif key == "cache":
            args["cache"] = False if value is None else value
        else:
            args[RENAMED.get(key, key)] = value
    if options.get("weights"):
        args["pretrained"] = str(options["weights"])
    try:
        args.update(hyperparameters(options.get("hyp", "default")))
    except (FileNotFoundError, ValueError) as err:
        problems.append(str(err).rstrip("."))
    amp = str(options.get("amp", "auto")).lower()
    if amp not in AMP_POLICIES:
        problems.append(f"train.amp={amp} is not valid: expected one of {', '.join(AMP_POLICIES)}")
    args["amp"] = amp != "false"  # the decision on CUDA is ours (offline), see train.amp_check
    mode = str(options.get("deterministic", "warn"))
    if mode not in DETERMINISTIC_MODES:
        problems.append(f"train.deterministic={mode} is not valid: expected one of {', '.join(DETERMINISTIC_MODES)}")
    args["deterministic"] = mode != "off"
    return args, problems


def option_errors(train: Any) -> str:
    """ "" if every ``train.*`` option is valid, else one sentence: a clause per option the package
    cannot express, per name it does not know (with the nearest one) and per bad value (the
    package's own type and range check, ``check_cfg``)."""
    from omegaconf import DictConfig, OmegaConf

    from ablation.engines.ultralytics.engine import ENGINE

    options = OmegaConf.to_container(train, resolve=True) if isinstance(train, DictConfig) else dict(train or {})
    args, problems = trainer_args(options)  # type: ignore[arg-type]
    ENGINE.setup()
    from ultralytics.cfg import check_cfg
    from ultralytics.utils import DEFAULT_CFG_DICT

    for key in [k for k in args if k not in DEFAULT_CFG_DICT]:
        close = difflib.get_close_matches(key, list(DEFAULT_CFG_DICT), n=1)
        hint = f"the nearest one is train.{close[0]}" if close else "see `yolo cfg`"
        problems.append(f"train.{key} is not an argument of ultralytics' trainer; {hint}")
        args.pop(key)
    for key, value in args.items():
        try:
            check_cfg({key: value})
        except (TypeError, ValueError) as err:
            problems.append(f"train.{key}: " + " ".join(str(err).split()).rstrip("."))
    return ("; ".join(problems) + ".") if problems else ""
