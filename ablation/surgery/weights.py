"""Carry a base model's weights across the surgery with the old → new index map."""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

_LAYER_KEY = re.compile(r"^(model\.)(\d+)(\..*)$")


def carry_state_dict(state: Mapping[str, torch.Tensor], index_map: Mapping[int, int]) -> dict[str, torch.Tensor]:
    """Rename ``model.<old>.*`` keys of a YOLOv5 ``Model`` state dict to ``model.<new>.*``."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        match = _LAYER_KEY.match(key)
        if match:
            key = f"{match[1]}{index_map[int(match[2])]}{match[3]}"
        out[key] = value
    return out
