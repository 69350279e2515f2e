"""Every attention module's cost on one model: added parameters, added GFLOPs and added CPU
latency at batch 1, per placement, as the README's markdown table.

    .venv/bin/python -m ablation.plan attention=all placement=neck,before_sppf,after_c3 model=yolov5s out=plans/all
    .venv/bin/python scripts/attention_costs.py --plan plans/all [--model yolov5s] [--repeats 20] [--names se,ela]

Parameters and GFLOPs are the plan's (``plan.csv``: the surgery, upstream's build and the
meta-device FlopCounterMode count at 640 px: convolutions and matrix products, 2 per
multiply-add), each config's minus the baseline's row. Latency: each inserted module alone, at
the shape of the map it receives (batch 1, the plan's 640 px input, FP32, eval mode,
``torch.inference_mode``, one thread), ``repeats`` timed passes after 3 untimed ones; the median
per insertion, summed over the insertions. A pass is timed as the CPU time of the thread that runs
it (``time.thread_time``): with one thread that is the latency on an otherwise idle core, and it
does not count the time other processes hold the core, which on a shared machine would otherwise
dominate. Timing the module rather than the whole model keeps the number from drowning in the base
model's own run-to-run noise. A config the plan refused (MHSA beyond its relative positions'
size) reads ``refused``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from ablation.attention import ATTENTION  # noqa: E402
from ablation.surgery import ModelSpec, Placement, apply  # noqa: E402
from ablation.surgery.channels import output_channels  # noqa: E402
from ablation.surgery.feature_size import layer_strides  # noqa: E402
from vendor.yolov5.paths import model_yaml  # noqa: E402


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


def insertion_shapes(name: str, model: str, placement: str, imgsz: int) -> list[tuple[int, int, int]]:
    """(channels, height, width) of the map each inserted module receives."""
    result = apply(ModelSpec.load(model_yaml(model)), name, {}, Placement.from_config({"name": placement}))
    widths, strides = output_channels(result.spec), layer_strides(result.spec)
    return [(widths[i], -(-imgsz // strides[i]), -(-imgsz // strides[i])) for i in result.inserted]


def read_plan(folder: Path, model: str) -> dict[tuple[str, str], dict[str, str]]:
    """``model``'s rows of a plan folder's plan.csv, by (attention, placement)."""
    with (folder / "plan.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["model"] == model]
    if not rows:
        raise SystemExit(f"{folder}/plan.csv has no {model} rows; plan model={model}.")
    return {(r["attention"], r["placement"]): r for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", type=Path, required=True, help="folder of python -m ablation.plan attention=all ...")
    parser.add_argument("--model", default="yolov5s")
    parser.add_argument("--imgsz", type=int, default=640, help="input size for the latency shapes (the plan's GFLOPs size)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--names", default="", help="comma-separated modules (default: every registered one)")
    parser.add_argument("--placements", default="neck,before_sppf,after_c3")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, rows = args.model, read_plan(args.plan, args.model)
    base = rows[("none", "-")]
    names = args.names.split(",") if args.names else ATTENTION.names()
    placements = args.placements.split(",")
    print(f"{model}: {int(base['params']):,} parameters, {float(base['gflops']):.2f} GFLOPs at {args.imgsz} px; added by each "
          f"module; latency: the module alone, batch 1, FP32, 1 thread, CPU time, median of {args.repeats}, summed over insertions.\n")
    head = " | ".join(f"{k} {p}" for k in ("params", "GFLOPs", "ms") for p in placements)
    print(f"| module | {head} |")
    print("|" + " --- |" * (1 + 3 * len(placements)))
    for name in names:
        planned = {p: rows.get((name, p)) for p in placements}
        missing = [p for p, r in planned.items() if r is None]
        if missing:
            raise SystemExit(f"{args.plan}/plan.csv has no {name} at {', '.join(missing)}; plan attention=all with these placements.")
        ok = {p: not r["error"] for p, r in planned.items()}
        params = [f"{int(r['params']) - int(base['params']):,}" if ok[p] else "refused" for p, r in planned.items()]
        flops = [f"{float(r['gflops']) - float(base['gflops']):.3f}" if ok[p] else "refused" for p, r in planned.items()]
        ms = [f"{module_ms(name, insertion_shapes(name, model, p, args.imgsz), args.repeats):.2f}" if ok[p] else "refused" for p in placements]
        print(f"| `{name}` | " + " | ".join(params + flops + ms) + " |", flush=True)


if __name__ == "__main__":
    main()
