"""``python -m ablation.plan``: yamls + plan.csv + table; failures are one sentence, non-zero exit."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ablation.plan import main
from ablation.planner import COLUMNS

ROOT = Path(__file__).resolve().parents[1]


def read_plan(out: Path) -> list[dict[str, str]]:
    with (out / "plan.csv").open() as f:
        return list(csv.DictReader(f))


def test_plan_writes_yamls_csv_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["model=yolov5n", "attention=se,simam", "placement=neck,before_sppf", f"out={tmp_path}", "preflight.workers=1"])
    assert code == 0
    rows = read_plan(tmp_path)
    assert list(rows[0]) == COLUMNS
    names = [r["name"] for r in rows]
    assert names == [
        "yolov5n-none", "yolov5n-se-neck", "yolov5n-se-before_sppf", "yolov5n-simam-neck", "yolov5n-simam-before_sppf",
    ]
    for r in rows:
        assert (tmp_path / r["yaml"]).is_file() and not r["error"]
        assert int(r["params"]) > 1_800_000 and 4.0 < float(r["gflops"]) < 5.0
    by_name = {r["name"]: r for r in rows}
    assert by_name["yolov5n-simam-neck"]["params"] == by_name["yolov5n-none"]["params"]  # parameter-free
    assert int(by_name["yolov5n-se-neck"]["params"]) > int(by_name["yolov5n-none"]["params"])
    assert by_name["yolov5n-se-neck"]["layers"] == "28"
    out = capsys.readouterr().out
    assert "yolov5n-se-before_sppf" in out and "gflops" in out and "5/5 entries planned" in out


def test_generated_yaml_builds_with_plain_upstream_after_one_import(tmp_path: Path) -> None:
    main(["model=yolov5n", "attention=se", "placement=c3_inside", f"out={tmp_path}", "preflight.enabled=false"])
    yaml_path = tmp_path / "yolov5n-se-c3_inside-bottleneck_in-all.yaml"
    script = (
        "import ablation\n"
        "from yolov5.models.yolo import Model\n"
        f"m = Model({str(yaml_path)!r})\n"
        "print(type(m.model[2]).__name__, type(m.model[2].attn).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "C3Attn SE"


def test_failing_entries_are_reported_and_the_rest_planned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["model=yolov5n", "attention=se", "attention.kwargs.reduction=0", "placement=neck,custom", f"out={tmp_path}", "preflight.workers=1"]
    )
    assert code == 1
    rows = {r["name"]: r for r in read_plan(tmp_path)}
    assert not rows["yolov5n-none"]["error"] and (tmp_path / "yolov5n-none.yaml").is_file()
    assert rows["yolov5n-se-custom"]["error"].startswith("placement custom needs layer indices")
    assert rows["yolov5n-se-neck"]["error"].startswith("failed while building the model: ZeroDivisionError")
    err = capsys.readouterr().err
    assert err.count("FAILED") == 2 and all(len(line) < 300 for line in err.splitlines())


def test_cli_exit_codes_and_bad_config(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "ablation.plan", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )
    bad = run("attention=sse", f"out={tmp_path}")
    assert bad.returncode == 2
    assert "attention must be one of" in bad.stderr and "simam" in bad.stderr
    assert not (tmp_path / "plan.csv").exists()


def test_every_attention_at_every_placement_plans_on_yolov5n_and_yolov5s(tmp_path: Path) -> None:
    from ablation.attention import ATTENTION

    placements = ["backbone_end", "before_sppf", "after_c3", "neck", "c3_inside"]
    code = main([
        "model=yolov5n,yolov5s", f"attention={','.join(ATTENTION.names())}", f"placement={','.join(placements)}",
        f"out={tmp_path}",
    ])
    rows = read_plan(tmp_path)
    assert [r["name"] for r in rows if r["error"]] == []
    assert code == 0 and len(rows) == 2 * (1 + len(ATTENTION) * len(placements))
    assert all(int(r["params"]) > 0 and float(r["gflops"]) > 0 for r in rows)
