"""Every attention module's cost on one model: added parameters, added GFLOPs and added CPU
latency at batch 1, per placement, as the markdown table in docs/module-costs.md.

    .venv/bin/python scripts/attention_costs.py [--model yolov5s] [--imgsz 640] [--repeats 20] [--names se,ela]

Each module is placed by ``surgery.apply`` as the plan places it, and measured alone at the shape
of every map it receives (batch 1, ``imgsz`` x ``imgsz`` input), summed over its insertions; the
rest of the model is unchanged, so these are what ``python -m ablation.plan attention=all
placement=neck,before_sppf,after_c3 model=yolov5s`` shows as each config's parameters and GFLOPs
minus the baseline's (up to the plan's rounding to 0.001 GFLOPs). GFLOPs: torch's
FlopCounterMode on the meta device, as the plan counts (convolutions and matrix products, 2 per
multiply-add; element-wise products, sigmoids and pooling count 0). Latency: FP32, eval mode,
``torch.inference_mode``, one thread, ``repeats`` timed passes after 3 untimed ones (``--repeats
0`` skips it), the median; a pass is timed as the CPU time of the thread that runs it
(``time.thread_time``): with one thread that is the latency on an otherwise idle core, without
the time other processes hold the core, which on a shared machine would dominate. A placement
planning refuses (MHSA beyond its relative positions' size) reads ``refused``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from ablation.attention import ATTENTION  # noqa: E402
from ablation.engines.yolov5.dialect import YOLOV5  # noqa: E402
from ablation.engines.yolov5.paths import model_yaml  # noqa: E402
from ablation.plan.surgery import ModelSpec, Placement, apply  # noqa: E402
from ablation.plan.surgery.channels import output_channels  # noqa: E402
from ablation.plan.surgery.feature_size import layer_strides, oversized  # noqa: E402


def module_ms(name: str, shapes: list[tuple[int, int, int]], repeats: int) -> float:
    """Summed median forward CPU time (ms) of the module at each (channels, height, width)."""
    total = 0.0
    for c, h, w in shapes:
        module = ATTENTION.build(name, c).eval()
        x = torch.randn(1, c, h, w)
        times = []
        with torch.inference_mode():
            for i in range(3 + repeats):
                start = time.thread_time()
                module(x)
                if i >= 3:
                    times.append(time.thread_time() - start)
        total += statistics.median(times) * 1000
    return total


def insertion_shapes(spec: ModelSpec, inserted: list[int], imgsz: int) -> list[tuple[int, int, int]]:
    """(channels, height, width) of the map each inserted module receives."""
    widths, strides = output_channels(spec), layer_strides(spec)
    return [(widths[i], -(-imgsz // strides[i]), -(-imgsz // strides[i])) for i in inserted]


def module_cost(name: str, shapes: list[tuple[int, int, int]]) -> tuple[int, float]:
    """(parameters, GFLOPs) of the module at each (channels, height, width), summed."""
    params, flops = 0, 0
    for c, h, w in shapes:
        module = ATTENTION.build(name, c)
        params += sum(p.numel() for p in module.parameters())
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module.to("meta").eval()(torch.empty(1, c, h, w, device="meta"))
        flops += counter.get_total_flops()
    return params, flops / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="yolov5s")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--repeats", type=int, default=20, help="timed passes per shape; 0: no latency")
    parser.add_argument("--names", default="", help="comma-separated modules (default: every registered one)")
    parser.add_argument("--placements", default="neck,before_sppf,after_c3")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.names.split(",") if args.names else ATTENTION.names()
    placements = args.placements.split(",")
    settings = {"train": {"imgsz": args.imgsz}, "preflight": {"gflops_imgsz": args.imgsz}}
    print(
        f"{args.model} at {args.imgsz} px, added by each module; latency: the module alone, batch 1, FP32, "
        f"1 thread, CPU time, median of {args.repeats}, summed over insertions.\n"
    )
    head = " | ".join(f"{k} {p}" for k in ("params", "GFLOPs", "ms") for p in placements)
    print(f"| module | {head} |")
    print("|" + " --- |" * (1 + 3 * len(placements)))
    for name in names:
        cells: dict[str, list[str]] = {"params": [], "gflops": [], "ms": []}
        for placement in placements:
            result = apply(
                ModelSpec.load(model_yaml(args.model), YOLOV5), name, {}, Placement.from_config({"name": placement})
            )
            if oversized(result.spec, settings):
                for key in cells:
                    cells[key].append("refused")
                continue
            shapes = insertion_shapes(result.spec, result.inserted, args.imgsz)
            params, gflops = module_cost(name, shapes)
            cells["params"].append(f"{params:,}")
            cells["gflops"].append(f"{gflops:.3f}")
            cells["ms"].append(f"{module_ms(name, shapes, args.repeats):.2f}" if args.repeats else "-")
        print(f"| `{name}` | " + " | ".join(cells["params"] + cells["gflops"] + cells["ms"]) + " |", flush=True)


if __name__ == "__main__":
    main()
