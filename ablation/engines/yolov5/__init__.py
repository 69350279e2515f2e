"""The yolov5 engine: our thin compatibility layer around the pinned upstream ``yolov5`` package
(7.0.14), and the only code that imports it.

No upstream code lives here: only the glue that lets the unmodified package run on today's
libraries and know our modules. ``ENGINE`` is what the rest of the pipeline uses.
"""

from ablation.engines.yolov5.engine import ENGINE

__all__ = ["ENGINE"]
