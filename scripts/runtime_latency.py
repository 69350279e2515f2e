"""Whole-model latency of planned configs in each runtime the sweep times best.pt in: PyTorch
eager, and the ONNX export in ONNX Runtime and in OpenVINO, on the CPU, as a markdown table.

    .venv/bin/python scripts/runtime_latency.py [--model yolov5n] [--placement neck] [--imgsz 640]
        [--threads 1] [--repeats 20] [--names none,se,cbam,s2mlp]

Each model is built as the plan builds it (``surgery.apply``), untrained, fused and in eval mode
(the engine's ``inference_model``), and timed by the functions a training job uses after training
(``ablation.evaluate.latency``: batch 1, 5 warm-up passes, the median of ``repeats``). Wall-clock
times: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from ablation.engines import engine  # noqa: E402
from ablation.engines.yolov5.dialect import YOLOV5  # noqa: E402
from ablation.engines.yolov5.paths import model_yaml  # noqa: E402
from ablation.evaluate.latency import measure_deployed_latency, measure_latency  # noqa: E402
from ablation.plan.surgery import ModelSpec, Placement, apply  # noqa: E402
from ablation.track.schema import RUNTIMES  # noqa: E402


def built(model: str, name: str, placement: str, folder: Path) -> torch.nn.Module:
    spec = ModelSpec.load(model_yaml(model), YOLOV5)
    if name != "none":
        spec = apply(spec, name, {}, Placement.from_config({"name": placement})).spec
    return engine("yolov5").inference_model(spec.write(folder / f"{model}-{name}.yaml"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="yolov5n")
    parser.add_argument("--placement", default="neck")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--names", default="none,se,cbam,eca,simam,ema,s2mlp")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"| config | {' | '.join(f'{runtime.name} ms' for runtime in RUNTIMES)} |")
    print(f"| --- |{' --- |' * len(RUNTIMES)}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names.split(","):
            model = built(args.model, name, args.placement, Path(tmp))
            cells = []
            for runtime in RUNTIMES:
                if runtime.deployed:
                    timed = measure_deployed_latency(model, runtime, args.imgsz, 5, args.repeats, args.threads)
                else:
                    timed = measure_latency(model, args.imgsz, 5, args.repeats)
                cells.append(f"{timed.median_ms:.1f}")
            config = args.model if name == "none" else f"{args.model}-{name}-{args.placement}"
            print(f"| {config} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
