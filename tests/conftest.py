import warnings

import pytest
import torch

from vendor.yolov5 import compat

compat.install()  # first: it records the environment before any upstream import changes it

warnings.filterwarnings("ignore", category=UserWarning, module="yolov5")
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
