"""Deployment: a model exported to ONNX and run in ONNX Runtime or OpenVINO, engine-blind.

``settings`` holds the ``onnx.*`` options (no torch import, for the command-line checks);
``onnx_export`` exports a built ``torch.nn.Module`` (TorchScript exporter, dynamic batch) and
compares ONNX Runtime's outputs with PyTorch's; ``runtimes`` opens an export in each deployed
runtime for the latency after training; ``guarded`` runs the planning checks
in child processes, so an exporter that kills its process (a signal) fails one model, not the plan.
Importing this package imports neither torch nor onnx.
"""

from ablation.deploy.settings import OnnxSettings

__all__ = ["OnnxSettings"]
