"""Our thin compatibility layer around the pinned upstream ``yolov5`` package (7.0.14).

No upstream code lives here: only the glue that lets the unmodified package run on today's
libraries and know our modules.
"""
