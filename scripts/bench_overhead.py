"""Benchmark: ``ablation.run`` vs plain upstream ``train.run`` on the same generated yamls.

    .venv/bin/python scripts/bench_overhead.py [--model yolov5n] [--attention se] [--placement neck]
                                               [--epochs 3] [--imgsz 256] [--batch 16] [--rounds 2]
                                               [--fast] [--work DIR] [--json FILE]

Untimed first (one-time costs both sides share): the embedded synthetic data set is generated
and ``python -m ablation.plan`` writes the config's yaml and its baseline's. Then, per round, two
timed sides, one after the other, as child processes of this one:
- plain upstream: one ``yolov5.train.run`` process per yaml (its imports timed too), same data,
  seed and settings: what a person does by hand with ``python train.py``, one run after another;
- ``python -m ablation.run attention=A placement=P data.path=...``: the sweep of that config and
  its baseline (surgery, preflight, one fresh training process per config, MLflow logging, the
  evaluation of best.pt, export table).
Both sides train every config in a fresh process. Rounds alternate which side goes first: on a
shared machine the first of two back-to-back runs was 10-20 % slower whichever it was.

``ablation.run`` does more than train: after training it evaluates best.pt (COCO metrics on the
detections of upstream's own final validation, and latency). Each job times its evaluation
(``coco_seconds``, ``latency_seconds``, ``latency_ort_seconds``, ``latency_ov_seconds`` in its
``result.json``), so the overhead splits into
- the training path: ablation.run minus its evaluation minus plain upstream, per config;
- the evaluation: its wall time per config (COCO conversion + pycocotools, latency passes);
- of the training path, the ONNX check at planning (``conf/onnx``, on by default): untimed
  ``ablation plan`` of the grid with and without it, the difference per config.
Prints every time (wall, and CPU seconds of all the processes a side started), the load average
(``uptime``) before each side, both splits, and whether each
config's results.csv is identical on both sides. ``--fast``: 1 epoch of yolov5n at 64 px on 16+8
images, one round (the test suite runs it so the script cannot rot). ``--json``: every number.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ablation.track.schema import RUNTIMES  # noqa: E402

PLAIN = """
import sys, pathlib
import ablation; ablation.setup()  # registers our modules with upstream's parse_model (the one call a plain checkout needs)
from ablation.engines.yolov5 import compat
compat.provide_fonts()
from yolov5 import train
cfg = sys.argv[3]
train.run(data=sys.argv[1], cfg=cfg, weights='', epochs={epochs}, imgsz={imgsz}, batch_size={batch}, workers=0,
          device='cpu', seed=0, project=sys.argv[2], name=pathlib.Path(cfg).stem)
"""
FAST = {"model": "yolov5n", "epochs": 1, "imgsz": 64, "batch": 4, "rounds": 1, "train_images": 16, "val_images": 8}
# the evaluation's parts (``ablation.evaluate``): COCO and each runtime's latency
PARTS = ("coco", *(runtime.stem for runtime in RUNTIMES))
EVALUATION = tuple(f"{part}_seconds" for part in PARTS)
EVALUATION_CPU = tuple(f"{part}_cpu_seconds" for part in PARTS)


def timed(commands: list[list[str]], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, of every process they started) to run
    ``commands`` one after another. On a shared machine the CPU seconds move less than the wall."""
    start, cpu = time.perf_counter(), _children_cpu()
    for cmd in commands:
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            sys.exit(f"command failed ({' '.join(cmd[:4])} ...):\n{done.stderr[-3000:]}")
    return time.perf_counter() - start, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def jobs(sweep: Path) -> dict[str, Path]:
    """Each job folder of an ``ablation.run`` sweep, by the name of the planned yaml it trained."""
    found = {}
    for job in sweep.iterdir():
        if (job / "job.json").is_file():
            found[Path(json.loads((job / "job.json").read_text())["options"]["cfg"]).stem] = job
    return found


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="yolov5n")
    parser.add_argument("--attention", default="se")
    parser.add_argument("--placement", default="neck")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternating plain-first and ablation-first")
    parser.add_argument("--train-images", type=int, default=480, help="of the synthetic set (conf/data/synthetic.yaml)")
    parser.add_argument("--val-images", type=int, default=96)
    parser.add_argument(
        "--fast", action="store_true", help="1 epoch, 64 px, 16+8 images, 1 round: a check, not a measurement"
    )
    parser.add_argument("--work", type=Path, default=None, help="output folder (default: a new temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="write every number here")
    args = parser.parse_args(argv)
    if args.fast:
        for key, value in FAST.items():
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    from ablation.data.synthetic import SyntheticSpec, ensure

    args = parse(argv)
    work = (args.work or Path(tempfile.mkdtemp(prefix="bench-overhead-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ABLATION_QUIET": "1", "PYTHONWARNINGS": "ignore"}
    data = ensure(work / "data", SyntheticSpec(train=args.train_images, val=args.val_images))
    grid = [f"model={args.model}", f"attention={args.attention}", f"placement={args.placement}", f"data.path={data}"]
    # the ONNX check at planning (on by default; plain upstream has none): its cost per command is
    # the planning command's with it minus without it
    planning = {}
    for onnx in ("false", "true"):
        planning[onnx] = timed(
            [[sys.executable, "-m", "ablation.plan", *grid, "out=plan", f"onnx.enabled={onnx}"]], work, env
        )
    onnx_check = {"wall": planning["true"][0] - planning["false"][0], "cpu": planning["true"][1] - planning["false"][1]}
    yamls = sorted((work / "plan").glob(f"{args.model}-*.yaml"))
    small = (
        ["evaluate.latency.imgsz=64", "evaluate.latency.warmup=1", "evaluate.latency.repeats=3"] if args.fast else []
    )

    # Plain upstream reloads its own best.pt after training: on torch >= 2.6 it needs this switch.
    plain_env = {**env, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    script = PLAIN.format(epochs=args.epochs, imgsz=args.imgsz, batch=args.batch)
    report: dict[str, object] = {
        "configs": [y.stem for y in yamls],
        "settings": {k: v for k, v in vars(args).items() if k not in ("work", "json")},
        "rounds": [],
        "planning": {onnx: {"wall": w, "cpu": c} for onnx, (w, c) in planning.items()},
        "onnx_check": onnx_check,
    }
    print(
        f"configs: {', '.join(y.stem for y in yamls)}; {args.model}, {args.epochs} epochs at {args.imgsz} px, "
        f"{args.train_images}+{args.val_images} images, CPU, {os.cpu_count()} cores"
    )
    for r in range(args.rounds):
        project, sweep = work / f"plain{r}", work / f"sweep{r}"
        commands = {
            "plain": (
                [[sys.executable, "-c", script, str(data), str(project), str(y)] for y in yamls],
                ROOT,
                plain_env,
            ),
            "ours": (
                [
                    [
                        sys.executable,
                        "-m",
                        "ablation.run",
                        *grid,
                        f"train.epochs={args.epochs}",
                        f"train.imgsz={args.imgsz}",
                        f"train.batch={args.batch}",
                        "train.workers=0",
                        "train.device=cpu",
                        f"hydra.sweep.dir={sweep}",
                        f"tracking.uri=sqlite:///{work / f'mlflow{r}.db'}",
                        "tracking.log_weights=false",
                        *small,
                    ]
                ],
                work,
                env,
            ),
        }
        seconds: dict[str, float] = {}
        for name in ("plain", "ours") if r % 2 == 0 else ("ours", "plain"):
            before = load()
            seconds[name], seconds[f"{name}_cpu"] = timed(*commands[name])
            label = "plain train.run" if name == "plain" else "ablation.run"
            print(
                f"round {r + 1}  {label:16s} {seconds[name]:8.1f} s, CPU {seconds[f'{name}_cpu']:8.1f} s   (load before: {before})"
            )
        results = {stem: json.loads((job / "result.json").read_text()) for stem, job in jobs(sweep).items()}
        evaluation = {stem: {k: float(result.get(k) or 0.0) for k in EVALUATION} for stem, result in results.items()}
        evaluation_cpu = {
            stem: sum(float(result.get(k) or 0.0) for k in EVALUATION_CPU) for stem, result in results.items()
        }
        identical = {}
        for yaml in yamls:
            ours_csv = jobs(sweep)[yaml.stem] / "train" / "results.csv"
            identical[yaml.stem] = ours_csv.read_text() == (project / yaml.stem / "results.csv").read_text()
            print(
                f"round {r + 1}  {yaml.stem} results.csv identical to plain upstream's: {'yes' if identical[yaml.stem] else 'NO'}; "
                f"evaluation {sum(evaluation[yaml.stem].values()):.1f} s (COCO {evaluation[yaml.stem]['coco_seconds']:.1f} s "
                f"from {results[yaml.stem].get('coco_source', '?')}, latency "
                + ", ".join(f"{r.name} {evaluation[yaml.stem][r.seconds]:.1f} s" for r in RUNTIMES)
                + ")"
            )
        report["rounds"].append(
            {
                **seconds,
                "evaluation": evaluation,
                "evaluation_cpu": evaluation_cpu,
                "identical": identical,
                "coco_source": {s: results[s].get("coco_source") for s in results},
                "train_seconds": {s: results[s].get("seconds") for s in results},
                "load_after": load(),
            }
        )
    rounds, n = report["rounds"], len(yamls)
    plain, ours = sum(x["plain"] for x in rounds), sum(x["ours"] for x in rounds)
    cpu = {side: sum(x[f"{side}_cpu"] for x in rounds) / len(rounds) / n for side in ("plain", "ours")}
    cpu["evaluation"] = sum(sum(x["evaluation_cpu"].values()) for x in rounds) / len(rounds) / n
    evaluated = sum(sum(v.values()) for x in rounds for v in x["evaluation"].values())
    report.update(
        ratio=ours / plain,
        ratio_training_path=(ours - evaluated) / plain,
        training_path_overhead_per_config=(ours - evaluated - plain) / len(rounds) / n,
        evaluation_per_config=evaluated / len(rounds) / n,
        cpu_per_config=cpu,
        onnx_check_per_config={k: v / n for k, v in onnx_check.items()},
    )
    print(f"ratio                          {report['ratio']:8.3f}  (ablation.run / plain, evaluation included)")
    print(f"ratio, training path           {report['ratio_training_path']:8.3f}  (evaluation left out)")
    print(f"training path overhead         {report['training_path_overhead_per_config']:8.1f} s per config")
    print(f"evaluation of best.pt          {report['evaluation_per_config']:8.1f} s per config")
    print(
        f"ONNX check at planning         {onnx_check['wall'] / n:8.1f} s per config, {onnx_check['cpu'] / n:.1f} CPU s "
        f"(part of the training path above; `ablation plan` with onnx.enabled=true minus false)"
    )
    print(
        f"CPU seconds per config         {cpu['plain']:8.1f} plain, {cpu['ours']:8.1f} ablation.run, "
        f"{cpu['evaluation']:.1f} of it the evaluation"
    )
    print(f"outputs in {work}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
