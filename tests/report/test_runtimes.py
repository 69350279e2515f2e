"""Latency per runtime: PyTorch's, ONNX Runtime's and OpenVINO's columns, fronts, figures and the
ranking sentences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ablation.report import plots
from ablation.report.runs import RUN_COLUMNS
from ablation.report.stats import configs_frame, ranking_change, ranking_changes
from ablation.report.table import display_frame
from ablation.track.schema import ONNXRUNTIME, OPENVINO, PYTORCH
from tests.report.test_latency_devices import CPU, run

# (attention, mAP, PyTorch ms, ONNX Runtime ms, OpenVINO ms): s2mlp is faster than se in PyTorch,
# slower in ORT; OpenVINO ranks as ORT does
TIMED = [("none", 0.30, 50.0, 25.0, 20.0), ("se", 0.33, 60.0, 30.0, 24.0), ("s2mlp", 0.35, 55.0, 140.0, 90.0)]
ONE = "cpu (1 threads)"


def frame(ort: list[float] | None = None) -> pd.DataFrame:
    rows = []
    for seed in (0, 1):
        for k, (attention, mAP, torch_ms, ort_ms, ov_ms) in enumerate(TIMED):
            row = run(attention, seed, mAP + seed / 100, torch_ms, CPU)
            row.update(latency_ort_ms=(ort or [ort_ms] * 3)[k], latency_ort_p90_ms=ort_ms + 1, latency_ort_device=CPU)
            row.update(latency_ov_ms=ov_ms, latency_ov_p90_ms=ov_ms + 1, latency_ov_device=ONE)
            rows.append(row)
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def test_each_runtime_has_its_column_and_its_own_front() -> None:
    configs = configs_frame(frame(), "mAP50-95").set_index("attention")
    assert configs["latency_ort_ms"].to_dict() == {"s2mlp": 140.0, "se": 30.0, "none": 25.0}
    assert configs.loc["none", "latency_ort_device"] == CPU and not configs["latency_ort_mixed"].any()
    # PyTorch: s2mlp (55 ms, best mAP) beats se (60 ms); ONNX Runtime: s2mlp is the slowest, se stays on
    assert configs["pareto_latency"].to_dict() == {"s2mlp": True, "se": False, "none": True}
    assert configs["pareto_latency_ort"].to_dict() == {"s2mlp": True, "se": True, "none": True}
    assert configs["latency_ov_ms"].to_dict() == {"s2mlp": 90.0, "se": 24.0, "none": 20.0}
    assert configs.loc["se", "latency_ov_device"] == ONE and configs["pareto_latency_ov"].all()
    shown = display_frame(configs.reset_index(), "mAP50-95").set_index("config")
    cells = shown.loc["yolov5n-s2mlp-neck", ["latency ms", "ORT ms", "OV ms"]].tolist()
    assert cells == ["55.00", "140.00", "90.00"]


def test_a_ranking_that_changes_between_runtimes_is_one_sentence() -> None:
    configs = configs_frame(frame(), "mAP50-95")
    assert ranking_change(configs) == (
        "The latency ranking changes between runtimes (PyTorch on cpu (2 threads), ONNX Runtime on cpu (2 threads)): "
        "1 of 3 pairs of configs swap order; e.g. yolov5n-s2mlp-neck is faster than yolov5n-se-neck in PyTorch "
        "(55.00 vs 60.00 ms) but slower in ONNX Runtime (140.00 vs 30.00 ms)."
    )


def test_the_same_ranking_is_said_so() -> None:
    configs = configs_frame(frame(ort=[10.0, 30.0, 20.0]), "mAP50-95")
    assert ranking_change(configs) == (
        "The latency ranking of the 3 configs is the same in both runtimes "
        "(PyTorch on cpu (2 threads), ONNX Runtime on cpu (2 threads))."
    )
    assert ranking_change(configs.assign(latency_ort_ms=float("nan"))) == ""


def test_each_deployed_runtime_is_compared_with_every_runtime_before_it() -> None:
    configs = configs_frame(frame(), "mAP50-95")
    assert ranking_changes(configs, PYTORCH) == ""
    assert ranking_changes(configs, ONNXRUNTIME) == ranking_change(configs)
    assert ranking_changes(configs, OPENVINO) == (
        "The latency ranking changes between runtimes (PyTorch on cpu (2 threads), OpenVINO on cpu (1 threads)): "
        "1 of 3 pairs of configs swap order; e.g. yolov5n-s2mlp-neck is faster than yolov5n-se-neck in PyTorch "
        "(55.00 vs 60.00 ms) but slower in OpenVINO (90.00 vs 24.00 ms). "
        "The latency ranking of the 3 configs is the same in both runtimes "
        "(ONNX Runtime on cpu (2 threads), OpenVINO on cpu (1 threads))."
    )


def test_one_front_per_runtime_is_drawn(tmp_path: Path) -> None:
    configs = configs_frame(frame(), "mAP50-95")
    assert plots.cost_scatter(configs, "latency_ort_ms", "mAP50-95", tmp_path / "ort.png") == tmp_path / "ort.png"
    assert (tmp_path / "ort.png").stat().st_size > 1000
    assert (
        plots.cost_scatter(
            configs.assign(latency_ort_ms=float("nan")), "latency_ort_ms", "mAP50-95", tmp_path / "x.png"
        )
        is None
    )
