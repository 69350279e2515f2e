"""The variables that library imports set in this process, and their values before.

Importing the stack changes the process environment: cv2 points ``QT_QPA_*`` and
``LD_LIBRARY_PATH`` at its own folder, torchvision sets ``TORCHINDUCTOR_CACHE_DIR``, MLflow's
polars its allocator (``_RJEM_MALLOC_CONF``), upstream yolov5 ``OMP_NUM_THREADS``, its log levels
and ``KMP_DUPLICATE_LIB_OK``. A training child imports the same libraries itself and must start
from the environment as launched: one that inherited ``OMP_NUM_THREADS`` would train with fewer
threads, and a child started before these imports (``isolate.Children.prestart``) would otherwise
no longer match a job's environment and be thrown away.

``record()`` (from ``ablation/__init__``, before any other import of ours) installs an audit hook
that notes each variable set or removed while a module is being imported, with its value before
the first such change. A variable set by code that is not an import (a user's, Hydra's
``hydra.job.env_set``) is not noted: the child gets it.
"""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Any

_IMPORTING = "<frozen importlib._bootstrap>"


class ImportedEnviron:
    """Each variable set or unset during an import, mapped to its value before (``None``: unset)."""

    def __init__(self) -> None:
        self.before: dict[str, str | None] = {}

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in ("os.putenv", "os.unsetenv"):
            return
        key = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        if key not in self.before and _importing(sys._getframe(1)):
            self.before[key] = os.environ.get(key)  # the hook runs before os.environ changes

    def restored(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` with every noted variable as it was before the import changed it."""
        env = dict(env)
        for key, value in self.before.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename == _IMPORTING:
            return True
        frame = frame.f_back
    return False


IMPORTED = ImportedEnviron()  # one per process: the audit hook cannot be removed once added
_recording = False


def record() -> None:
    """Idempotent: start noting the variables imports set (``IMPORTED``)."""
    global _recording
    if not _recording:
        sys.addaudithook(IMPORTED)
        _recording = True
