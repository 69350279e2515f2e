"""The yolov5 engine's import shims."""

from __future__ import annotations

import inspect

from ablation.engines.yolov5 import compat


def frames_named_by(stack) -> list[tuple[str, int, str]]:
    return [(f.filename, f.lineno, f.function) for f in stack]


def test_the_light_stack_names_the_frames_inspect_names() -> None:
    """upstream's import compares ``stack()[0].filename`` with ``stack()[-1].filename``."""
    real = frames_named_by(inspect.stack())
    with compat._light_stack():
        light = frames_named_by(inspect.stack())
    assert inspect.stack is not None and frames_named_by(inspect.stack())[1:] == real[1:]  # put back
    assert [f[0] for f in light] == [f[0] for f in real] and [f[2] for f in light] == [f[2] for f in real]
    assert light[0][2] == "test_the_light_stack_names_the_frames_inspect_names" and len(light) > 5
