"""Deployment: a model exported to ONNX and run in ONNX Runtime, engine-blind.

``settings`` holds the ``onnx.*`` options (no torch import, for the command-line checks);
``onnx_export`` exports a built ``torch.nn.Module`` (TorchScript exporter, dynamic batch),
compares ONNX Runtime's outputs with PyTorch's and times a session; ``guarded`` runs such checks
in child processes, so an exporter that kills its process (a signal) fails one model, not the plan.
Importing this package imports neither torch nor onnx.
"""

from ablation.deploy.settings import OnnxSettings

__all__ = ["OnnxSettings"]
