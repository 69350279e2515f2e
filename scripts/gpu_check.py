"""GPU check: every attention module at one placement, a short real training run each.

    .venv/bin/python scripts/gpu_check.py [--placement neck] [--model yolov5n] [--epochs 2]
        [--imgsz 320] [--batch 32] [--device ""] [--parallel] [--out gpu-check]

Runs ``python -m ablation.run attention=<every module> ...`` (with the baseline) on the embedded
synthetic data, in ``--out`` with its own MLflow store, then prints one row per config: status,
the AMP decision, training images/s, peak GPU memory (GiB) and mAP50. ``--parallel`` uses the
parallel launcher (one GPU per job). Exit code: non-zero if any config failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--placement", default="neck")
    parser.add_argument("--model", default="yolov5n")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--device", default="", help='"" = one leased GPU per job (CPU if none), "cpu", "0", ...')
    parser.add_argument("--parallel", action="store_true", help="hydra/launcher=parallel: N GPUs, N jobs at once")
    parser.add_argument("--out", default="gpu-check")
    args = parser.parse_args()

    from ablation.attention import ATTENTION
    from ablation.track import Store

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{out / 'mlflow.db'}"
    command = [
        sys.executable,
        "-m",
        "ablation.run",
        f"attention={','.join(ATTENTION.names())}",
        f"placement={args.placement}",
        f"model={args.model}",
        f"train.epochs={args.epochs}",
        f"train.imgsz={args.imgsz}",
        f"train.batch={args.batch}",
        f"train.device={args.device}",
        "train.workers=4",
        "data.imgsz=320",
        "tracking.log_weights=false",
        f"tracking.uri={uri}",
        "hydra.sweep.dir=sweep",
        *(["hydra/launcher=parallel"] if args.parallel else []),
    ]
    code = subprocess.run(command, cwd=out, env={**os.environ, "ABLATION_QUIET": "1"}).returncode

    runs = [r for r in Store(uri, "ablation").runs() if "config_hash" in r.data.tags]
    header = f"{'config':<28} {'status':<9} {'amp':<6} {'images/s':>9} {'GPU GiB':>8} {'mAP50':>7}  note"
    print("\n" + header + "\n" + "-" * len(header))
    for run in sorted(runs, key=lambda r: r.info.run_name):
        m, p, t = run.data.metrics, run.data.params, run.data.tags
        gib = f"{m['gpu_mem_peak_gb']:.2f}" if "gpu_mem_peak_gb" in m else "-"
        rate = f"{m['images_per_second']:.1f}" if "images_per_second" in m else "-"
        mAP = f"{m['mAP50']:.3f}" if "mAP50" in m else "-"
        note = t.get("error", "")[:80] or p.get("amp_reason", "")
        print(
            f"{run.info.run_name:<28} {run.info.status:<9} {p.get('amp', '-'):<6} {rate:>9} {gib:>8} {mAP:>7}  {note}"
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
