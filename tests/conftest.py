import warnings

import pytest
import torch

warnings.filterwarnings("ignore", category=UserWarning, module="yolov5")
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
