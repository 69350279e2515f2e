"""Every attention module's cost on one model: added parameters, added GFLOPs and added CPU
latency at batch 1, per placement, as the README's markdown table.

    .venv/bin/python scripts/attention_costs.py [--model yolov5s] [--imgsz 640] [--repeats 20]
                                                [--threads 1] [--names se,ela] [--placements neck,before_sppf,after_c3]

Parameters and GFLOPs come from the same surgery and counters as ``python -m ablation.plan``
(the module placed by ``surgery.apply``, the model built by upstream, GFLOPs on the meta device
with torch's FlopCounterMode: convolutions and matrix products, 2 per multiply-add), minus the
base model's. Latency: each inserted module alone, at the shape of the map it receives
(batch 1, ``imgsz`` x ``imgsz`` input, FP32, eval mode, ``torch.inference_mode``), ``repeats``
timed passes after 3 untimed ones, one thread by default (on a shared machine more threads spin
against other processes and the numbers scatter tenfold); the median per insertion, summed over
the insertions. Timing the module rather than the whole model keeps the number from drowning in
the base model's own run-to-run noise on a CPU. A placement that planning refuses (MHSA beyond
its relative positions' size) reads ``refused``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from ablation.attention import ATTENTION  # noqa: E402
from ablation.preflight import build_model, gflops  # noqa: E402
from ablation.surgery import ModelSpec, Placement, apply  # noqa: E402
from ablation.surgery.channels import output_channels  # noqa: E402
from ablation.surgery.feature_size import layer_strides, oversized  # noqa: E402
from vendor.yolov5.paths import model_yaml  # noqa: E402


def module_ms(name: str, shapes: list[tuple[int, int, int]], repeats: int) -> float:
    """Summed median forward time (ms) of the module at each (channels, height, width)."""
    total = 0.0
    for c, h, w in shapes:
        module = ATTENTION.build(name, c).eval()
        x = torch.randn(1, c, h, w)
        times = []
        with torch.inference_mode():
            for i in range(3 + repeats):
                start = time.perf_counter()
                module(x)
                if i >= 3:
                    times.append(time.perf_counter() - start)
        total += statistics.median(times) * 1000
    return total


def costs(name: str, model: str, placement: str, imgsz: int, repeats: int, base: dict[str, Any]) -> dict[str, Any]:
    """Added params, GFLOPs and latency of ``name`` at ``placement`` (or ``refused``)."""
    spec = ModelSpec.load(model_yaml(model))
    result = apply(spec, name, {}, Placement.from_config({"name": placement}))
    refused = oversized(result.spec, {"train": {"imgsz": imgsz}, "preflight": {"gflops_imgsz": imgsz}})
    if refused:
        return {"refused": refused}
    with tempfile.TemporaryDirectory() as tmp:
        built = build_model(result.spec.write(Path(tmp) / "m.yaml"), nc=80)
    widths, strides = output_channels(result.spec), layer_strides(result.spec)
    shapes = [(widths[i], -(-imgsz // strides[i]), -(-imgsz // strides[i])) for i in result.inserted]
    return {
        "params": sum(p.numel() for p in built.parameters()) - base["params"],
        "gflops": gflops(built, imgsz) - base["gflops"],
        "ms": module_ms(name, shapes, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="yolov5s")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--names", default="", help="comma-separated modules (default: every registered one)")
    parser.add_argument("--placements", default="neck,before_sppf,after_c3")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    names = args.names.split(",") if args.names else ATTENTION.names()
    placements = args.placements.split(",")
    base_model = build_model(model_yaml(args.model), nc=80)
    base = {"params": sum(p.numel() for p in base_model.parameters()), "gflops": gflops(base_model, args.imgsz)}
    print(f"{args.model} at {args.imgsz} px: {base['params']:,} parameters, {base['gflops']:.2f} GFLOPs; "
          f"added cost per module and placement; latency: module alone, batch 1, FP32, {args.threads} CPU threads, "
          f"median of {args.repeats}, summed over insertions.\n")
    head = " | ".join(f"{k} {p}" for k in ("params", "GFLOPs", "ms") for p in placements)
    print(f"| module | {head} |")
    print("|" + " --- |" * (1 + 3 * len(placements)))
    for name in names:
        cells = {p: costs(name, args.model, p, args.imgsz, args.repeats, base) for p in placements}

        def cell(p: str, key: str, fmt: str) -> str:
            return "refused" if "refused" in cells[p] else format(cells[p][key], fmt)

        row = [cell(p, "params", ",") for p in placements] + [cell(p, "gflops", ".4f") for p in placements]
        row += [cell(p, "ms", ".2f") for p in placements]
        print(f"| `{name}` | " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
