"""Benchmark: ``ablation.run`` vs plain upstream ``train.run`` on the same generated yamls.

    .venv/bin/python scripts/bench_overhead.py [--model yolov5s] [--attention se] [--placement neck]
                                               [--epochs 3] [--imgsz 320] [--batch 16] [--rounds 2]

Untimed first (one-time costs both sides share): the embedded synthetic data set is generated
and ``python -m ablation.plan`` writes the config's yaml and its baseline's. Then, per round, two
timed sides, one after the other, as child processes of this one:
- plain upstream: one ``yolov5.train.run`` process per yaml (its imports timed too), same data,
  seed and settings: what a person does by hand with ``python train.py``, one run after another;
- ``python -m ablation.run attention=A placement=P``: the sweep of that config and its baseline
  (surgery, preflight, one fresh training process per config, MLflow logging, export table).
Both sides train every config in a fresh process. (Training the second config in the process
that trained the first is a few seconds faster, from warm caches, but is not how upstream is run:
its shared default ``Callbacks`` even appends the second run's epochs to the first's results.csv.)
Rounds alternate which side goes first: on a shared 2-core VM the first of two back-to-back runs
was 10-20 % slower whichever it was, which swamps the difference being measured.
Prints every time, the ratio of the totals (target <= 1.05 on a 3-epoch CPU run), the overhead
in seconds per config, and whether each config's results.csv is identical on both sides.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PLAIN = """
import sys, pathlib
import ablation; ablation.setup()  # registers our modules with upstream's parse_model (the one call a plain checkout needs)
from vendor.yolov5 import compat
compat.provide_fonts()
from yolov5 import train
cfg = sys.argv[3]
train.run(data=sys.argv[1], cfg=cfg, weights='', epochs={epochs}, imgsz={imgsz}, batch_size={batch}, workers=0,
          device='cpu', seed=0, project=sys.argv[2], name=pathlib.Path(cfg).stem)
"""

PREPARE = """
from pathlib import Path
from omegaconf import OmegaConf
from ablation.data.resolve import resolve
resolve(OmegaConf.load('{conf}'), Path('.'))  # writes ./data.yaml
"""


def timed(commands: list[list[str]], cwd: Path, env: dict[str, str]) -> float:
    """Seconds to run ``commands`` one after another."""
    start = time.perf_counter()
    for cmd in commands:
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            sys.exit(f"command failed ({' '.join(cmd[:4])} ...):\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="yolov5s")
    parser.add_argument("--attention", default="se")
    parser.add_argument("--placement", default="neck")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternating plain-first and ablation-first")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    env = {**os.environ, "ABLATION_QUIET": "1", "PYTHONWARNINGS": "ignore"}
    grid = [f"model={args.model}", f"attention={args.attention}", f"placement={args.placement}"]
    subprocess.run([sys.executable, "-c", PREPARE.format(conf=ROOT / "conf" / "data" / "synthetic.yaml")], cwd=work, env=env, check=True)
    subprocess.run([sys.executable, "-m", "ablation.plan", *grid, "out=plan"], cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
    yamls = sorted(str(y) for y in (work / "plan").glob(f"{args.model}-*.yaml"))

    # Plain upstream reloads its own best.pt after training: on torch >= 2.6 it needs this switch.
    plain_env = {**env, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    script = PLAIN.format(epochs=args.epochs, imgsz=args.imgsz, batch=args.batch)
    totals = {"plain": 0.0, "ours": 0.0}
    print(f"configs: {', '.join(Path(y).stem for y in yamls)}; {args.epochs} epochs at {args.imgsz} px, CPU")
    for r in range(args.rounds):
        project = work / f"plain{r}"
        commands = {
            "plain": ([[sys.executable, "-c", script, str(work / "data.yaml"), str(project), y] for y in yamls], ROOT, plain_env),
            "ours": (
                [[sys.executable, "-m", "ablation.run", *grid, f"train.epochs={args.epochs}", f"train.imgsz={args.imgsz}",
                 f"train.batch={args.batch}", "train.workers=0", "train.device=cpu", f"hydra.sweep.dir=sweep{r}",
                 f"tracking.uri=sqlite:///{work / f'mlflow{r}.db'}", "tracking.log_weights=false"]],
                work, env,
            ),
        }
        for name in ("plain", "ours") if r % 2 == 0 else ("ours", "plain"):
            seconds = timed(*commands[name])
            totals[name] += seconds
            print(f"round {r + 1}  {'plain train.run' if name == 'plain' else 'ablation.run':16s} {seconds:8.1f} s")
        for yaml in map(Path, yamls):
            ours_csv = next(j for j in (work / f"sweep{r}").glob("[0-9]*") if (j / yaml.name).is_file()) / "train" / "results.csv"
            same = ours_csv.read_text() == (project / yaml.stem / "results.csv").read_text()
            print(f"round {r + 1}  {yaml.stem} results.csv identical to plain upstream's: {'yes' if same else 'NO'}")
    print(f"ratio             {totals['ours'] / totals['plain']:8.3f}  (target <= 1.05)")
    print(f"overhead          {(totals['ours'] - totals['plain']) / args.rounds / len(yamls):8.1f} s per config")
    print(f"outputs in {work}")


if __name__ == "__main__":
    main()
