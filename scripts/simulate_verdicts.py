"""Simulated grids with known truth: false better/worse verdicts, power, runs saved by adaptive seeds.

    python scripts/simulate_verdicts.py                         # the table in docs/statistics.md (in memory)
    python scripts/simulate_verdicts.py --store sqlite:////tmp/sim.db --grids 5   # through MLflow + ablation.export

Rows: null grids (no config differs from the baseline) at 3 seeds, Holm, BH and no correction;
grids with 5 real effects of 6 paired SDs at 5 seeds, fixed and adaptive.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ablation.report.adaptive import Design
from ablation.report.simulate import Scenario, Tally, run_grids


def row(label: str, tally: Tally, seconds: float) -> str:
    adaptive = (
        f"{sum(tally.agree) / len(tally.agree):.1%} | {tally.runs / tally.fixed_runs:.0%} | "
        f"{tally.adaptive_grids_with_false} | "
        + (f"{tally.adaptive_found / tally.effects:.0%}" if tally.effects else "-")
        if tally.agree
        else "- | - | - | -"
    )
    power = f"{tally.power:.0%}" if tally.effects else "-"
    return (
        f"| {label} | {tally.grids} | {tally.grids_with_false} ({tally.grids_with_false / tally.grids:.0%}) | "
        f"{tally.false_verdicts} | {power} | {adaptive} | {seconds:.0f} s |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grids", type=int, default=100)
    parser.add_argument("--configs", type=int, default=60)
    parser.add_argument("--effects", type=int, default=5)
    parser.add_argument("--effect", type=float, default=6.0, help="real effects, in paired standard deviations")
    parser.add_argument("--start", type=int, default=2, help="adaptive seeds: seeds every config starts with")
    parser.add_argument("--step", type=int, default=1)
    parser.add_argument("--max-seeds", type=int, default=5)
    parser.add_argument(
        "--store", help="MLflow tracking URI: write every grid there and read it back through ablation.export"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    null = Scenario(configs=args.configs, seeds=args.max_seeds, effects=0)
    real = Scenario(configs=args.configs, seeds=args.max_seeds, effects=args.effects, effect=args.effect)
    design = Design(start=args.start, step=args.step, max_seeds=args.max_seeds)
    print(
        "| scenario | grids | grids with any false better/worse | false verdicts | power (effects found better) "
        "| adaptive: configs with the fixed verdict | adaptive: runs / fixed runs | adaptive: grids with a false verdict "
        "| adaptive: power | time |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    cases = [
        (f"null, {args.configs} configs × 3 seeds, holm", null, 3, "holm", None),
        (f"null, {args.configs} configs × 3 seeds, bh", null, 3, "bh", None),
        (f"null, {args.configs} configs × 3 seeds, none", null, 3, "none", None),
        (
            f"null, {args.configs} × {args.max_seeds} seeds, holm, adaptive start {args.start}",
            null,
            args.max_seeds,
            "holm",
            design,
        ),
        (
            f"{args.effects} effects of {args.effect:g} SD, {args.configs} × {args.max_seeds} seeds, holm, adaptive start {args.start}",
            real,
            args.max_seeds,
            "holm",
            design,
        ),
        (
            f"{args.effects} effects of {args.effect:g} SD, {args.configs} × {args.max_seeds} seeds, bh",
            real,
            args.max_seeds,
            "bh",
            None,
        ),
    ]
    for label, scenario, seeds, correction, adaptive in cases:
        started = time.perf_counter()
        tally = run_grids(
            scenario,
            args.grids,
            seeds,
            correction,
            adaptive,
            args.seed,
            args.store,
            out=str(Path("/tmp") / "simulated.csv"),
        )
        print(row(label, tally, time.perf_counter() - started), flush=True)
        if args.store and tally.written:
            print(
                f"|   MLflow writes: {tally.written} runs in {tally.write_seconds:.0f} s "
                f"({1000 * tally.write_seconds / tally.written:.0f} ms per run) | | | | | | | | | |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
