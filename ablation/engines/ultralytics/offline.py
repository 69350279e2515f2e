"""Run the ultralytics package offline and quietly, inside our own framework.

``install()`` must run before ``ultralytics`` is first imported in a process: the package reads
``YOLO_CONFIG_DIR`` once, at import, for its settings file, fonts and weights folder. We point it
at a private folder of this process (never the user's ``~/.config/Ultralytics``; when the package
was imported first, e.g. by yolov5, the settings change in this process only), switch off every
integration callback (its MLflow callback would log each training as a run of its own into the
current tracking URI) and its usage events, and place local fonts where its ``check_font`` looks,
so plots never download Arial.ttf.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

# Importing ultralytics sets OMP_NUM_THREADS=1 when unset (a child that inherits it trains on one
# thread); YOLO_CONFIG_DIR is this process's private folder, a child makes its own.
UPSTREAM_IMPORT_ENV = ("OMP_NUM_THREADS", "YOLO_CONFIG_DIR")
INTEGRATIONS = ("clearml", "comet", "dvc", "mlflow", "raytune", "tensorboard", "wandb")
FONTS = ("Arial.ttf", "Arial.Unicode.ttf")

_launch_env: dict[str, str] | None = None  # os.environ before ultralytics' import
_config_dir: Path | None = None


def install() -> Path:
    """Idempotent: the private config folder, environment and settings; returns the folder in
    which ultralytics keeps its settings (``USER_CONFIG_DIR``)."""
    global _launch_env, _config_dir
    if _config_dir is not None:
        return _config_dir
    private = "ultralytics" not in sys.modules
    if private:
        _launch_env = dict(os.environ)
        root = Path(tempfile.mkdtemp(prefix="ablation-ultralytics-"))
        atexit.register(shutil.rmtree, root, True)
        os.environ["YOLO_CONFIG_DIR"] = str(root)
    os.environ.setdefault("YOLO_OFFLINE", "1")  # no update checks, no hub, no online probes
    from ultralytics.utils import SETTINGS, USER_CONFIG_DIR

    settings: dict[str, object] = {key: False for key in INTEGRATIONS}
    settings["sync"] = False  # no usage events
    if private:  # our own file: every process started with this environment reads the same
        settings["weights_dir"] = str(Path(USER_CONFIG_DIR) / "weights")  # never a shared download cache
        SETTINGS.update(settings)
    else:  # imported before us (yolov5 imports it): this process only, the user's file untouched
        dict.update(SETTINGS, settings)
    provide_fonts(Path(USER_CONFIG_DIR))
    _config_dir = Path(USER_CONFIG_DIR)
    return _config_dir


def provide_fonts(folder: Path) -> list[str]:
    """matplotlib's DejaVu Sans under the names ``check_font`` asks for, in ``folder``."""
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    written = []
    for name in FONTS:
        target = folder / name
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            written.append(str(target))
    return written


def launch_environ(also: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment with ``UPSTREAM_IMPORT_ENV`` (and ``also``) as they were before
    ultralytics' import changed them."""
    from ablation.engines.shared import restored_environ

    return restored_environ(_launch_env, (*UPSTREAM_IMPORT_ENV, *also))
