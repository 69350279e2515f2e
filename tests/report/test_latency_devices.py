"""Latency over seeds never mixes devices or thread counts, nor does the latency Pareto front."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ablation.report.runs import RUN_COLUMNS
from ablation.report.stats import configs_frame
from ablation.report.table import display_frame

CPU, GPU = "cpu (2 threads)", "NVIDIA H100 80GB HBM3"


def run(attention: str, seed: int, mAP: float, latency: float, device: str) -> dict[str, object]:
    group = f"g-{attention}"
    row: dict[str, object] = {c: np.nan for c in RUN_COLUMNS}
    row.update(
        name=f"yolov5n-{attention}-neck",
        config_hash=f"{group}-s{seed}",
        group_hash=group,
        baseline_hash=f"g-none-s{seed}",
        model="yolov5n",
        attention=attention,
        placement="neck",
        seed=seed,
        error="",
        run_id=f"{attention}{seed}",
        status="FINISHED",
        latency_device=device,
        params=1e6,
        gflops=4.0,
        latency_ms=latency,
        latency_p90_ms=latency + 1,
    )
    row.update({"mAP50": mAP, "mAP50-95": mAP, "coco/AP": np.nan})
    return row


def frame() -> pd.DataFrame:
    rows = []
    for seed in (0, 1, 2):
        rows.append(run("none", seed, 0.30 + seed / 100, 100.0 + seed, CPU))
        rows.append(
            run("se", seed, 0.35 + seed / 100, [110.0, 112.0, 5.0][seed], [CPU, CPU, GPU][seed])
        )  # seed 2 on a GPU
        rows.append(run("eca", seed, 0.40 + seed / 100, 4.0, GPU))  # every seed on the GPU: faster and more accurate
        rows.append(run("simam", seed, 0.25 + seed / 100, 105.0 + seed, f"cpu ({1 + seed} threads)"))
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def test_a_config_timed_on_different_devices_has_no_latency_and_says_so() -> None:
    configs = configs_frame(frame(), "mAP50-95").set_index("attention")
    assert configs.loc["se", "latency_device"] == f"mixed: {GPU} | {CPU}"
    assert configs.loc["simam", "latency_device"] == "mixed: cpu (1 threads) | cpu (2 threads) | cpu (3 threads)"
    assert configs.loc[["se", "simam"], "latency_mixed"].all()
    assert configs.loc[["se", "simam"], ["latency_ms", "latency_p90_ms"]].isna().all().all()
    assert configs.loc["none", "latency_ms"] == 101.0 and configs.loc["none", "latency_device"] == CPU
    assert configs.loc["eca", "latency_ms"] == 4.0 and not configs.loc["eca", "latency_mixed"]
    shown = display_frame(configs.reset_index(), "mAP50-95").set_index("config")["latency ms"]
    assert shown["yolov5n-se-neck"] == "mixed devices" and shown["yolov5n-none-neck"] == "101.00"


def test_the_latency_front_compares_configs_timed_on_the_same_device_only() -> None:
    configs = configs_frame(frame(), "mAP50-95").set_index("attention")
    # eca (GPU, 4 ms, more accurate) would take the CPU baseline off the front, but it was timed on another device
    assert configs["pareto_latency"].to_dict() == {"none": True, "se": False, "eca": True, "simam": False}
