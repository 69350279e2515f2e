import warnings

import pytest
import torch

import ablation

ablation.setup()  # first: it records the environment before any upstream import changes it

warnings.filterwarnings("ignore", category=UserWarning, module="yolov5")
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
