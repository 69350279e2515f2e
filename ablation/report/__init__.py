"""Report: MLflow runs as pandas frames, seed statistics and verdicts, CSV, ``report.html``.

Importing this package loads neither torch nor upstream (nor pandas/matplotlib: the modules
below import them)."""
