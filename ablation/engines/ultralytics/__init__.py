"""The ultralytics engine: our glue around the pinned ``ultralytics`` package (8.4.190: YOLOv8,
YOLO11, YOLO26 detection), and the only code that imports it.

No upstream code lives here: registration of our modules with its model parser, offline
settings, model names, the option mapping and training through its own ``DetectionTrainer``.
``ENGINE`` is what the rest of the pipeline uses.
"""

from ablation.engines.ultralytics.engine import ENGINE

__all__ = ["ENGINE"]
