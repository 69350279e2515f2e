"""BatchNorm for attention modules that must also train at batch 1 (preflight does).

Not an attention module: the leading underscore keeps it out of the package's auto-registration.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BatchNorm2d(nn.BatchNorm2d):
    """BatchNorm that uses its running statistics when a batch holds one value per channel.

    Batch statistics of a single value are undefined (torch raises); this happens only for a
    1×1 map (or a squeeze vector) at batch 1 in training, where the running estimate is the only
    sensible choice. Every other batch uses the ordinary batch statistics.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] * x.shape[2] * x.shape[3] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)
