#!/usr/bin/env python
"""``make cluster-demo``: the demo grid through Slurm into an MLflow server on PostgreSQL, on this
machine (root; installs slurm-wlm, munge and postgresql with apt-get when missing).

    python scripts/cluster/demo.py [all] [--out cluster-demo] [--port 0] [sweep overrides, e.g. train.epochs=3]
    python scripts/cluster/demo.py up | down | check   (the steps; tests/cluster drives them)

``all``: start a single-node Slurm, PostgreSQL (a fresh database ``ablation_demo``) and ``mlflow
server`` on 127.0.0.1 (scripts/mlflow_server.sh), run ``python -m ablation.run attention=simam,ema
placement=neck experiment=demo hydra/launcher=slurm`` with ``tracking.uri`` on that server, write
the CSV and the report from the server, check what the sweep left behind (one array task per
config, each exit 0; one FINISHED run per config with per-epoch metrics, COCO metrics and latency;
best.pt downloaded through the server), and stop what it started.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ablation.track.remote import RUNS_VIEW

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GRID = ["attention=simam,ema", "placement=neck", "experiment=demo"]
EXPERIMENT = "cluster-demo"
DATABASE = "ablation_demo"
STEPS = ("all", "up", "down", "check")
# Without accounting (no slurmdbd here) sacct fails, and submitit warns at each status poll; it
# then reads the tasks' result files, which is what the sweep needs.
SWEEP_ENV = {"SUBMITIT_LOG_LEVEL": "ERROR"}
# This machine has no GPU and 2 cores: one CPU per task, two tasks at a time.
SLURM = [
    "hydra/launcher=slurm",
    "hydra.launcher.gpus_per_node=0",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=2",
    "hydra.launcher.timeout_min=120",
]


def log(message: str) -> None:
    print(f"[cluster-demo] {message}", flush=True)


def up(out: Path, port: int = 0, database: str = DATABASE) -> dict[str, Any]:
    """Slurm, PostgreSQL and the MLflow server; returns (and keeps in ``out/state``) what runs."""
    state = out / "state"
    state.mkdir(parents=True, exist_ok=True)
    subprocess.run([ROOT / "scripts/cluster/slurm.sh", "up"], check=True, env=_env(state))
    return tracking_up(out, port, database)


def tracking_up(out: Path, port: int = 0, database: str = DATABASE) -> dict[str, Any]:
    """PostgreSQL (``database`` emptied) and the MLflow server on 127.0.0.1 in front of it."""
    state = out / "state"
    state.mkdir(parents=True, exist_ok=True)
    backend = (
        subprocess.run(
            [ROOT / "scripts/cluster/postgres.sh", "up"],
            check=True,
            env={**_env(state), "PGDB_MLFLOW": database, "PG_FRESH": "1"},
            stdout=subprocess.PIPE,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    services = {
        "out": str(out),
        "state": str(state),
        "backend": backend,
        "artifacts": str(out / "mlartifacts"),
        "port": port or free_port(),
    }
    services["uri"] = f"http://127.0.0.1:{services['port']}"
    start_server(services)
    (state / "services.json").write_text(json.dumps(services, indent=1))
    return services


def _env(state: Path) -> dict[str, str]:
    return {**os.environ, "ABLATION_CLUSTER_STATE": str(state)}


def start_server(services: dict[str, Any], wait_s: float = 600) -> None:
    """``scripts/mlflow_server.sh`` in the background (its own process group); waits until it answers."""
    state = Path(services["state"])
    logfile = (state / "mlflow-server.log").open("a")
    server = subprocess.Popen(
        [ROOT / "scripts/mlflow_server.sh", services["backend"], services["artifacts"], str(services["port"])],
        env={**os.environ, "MLFLOW_HOST": "127.0.0.1", "MLFLOW_WORKERS": "2"},
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (state / "mlflow-server.pid").write_text(str(server.pid))
    log(f"mlflow server (pid {server.pid}) starting on {services['uri']}, log {state / 'mlflow-server.log'}")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"error: mlflow server exited with {server.returncode}; see {state / 'mlflow-server.log'}")
        if answers(services["uri"]):
            log(f"mlflow server answers on {services['uri']}")
            return
        time.sleep(2)
    raise SystemExit(f"error: mlflow server did not answer within {wait_s:.0f} s; see {state / 'mlflow-server.log'}")


def stop_server(services: dict[str, Any]) -> None:
    pid_file = Path(services["state"]) / "mlflow-server.pid"
    if not pid_file.is_file():
        return
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)  # the server's own group: its workers too
        for _ in range(60):
            os.killpg(pid, 0)
            time.sleep(0.5)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pid_file.unlink()
    log(f"stopped mlflow server (pid {pid})")


def down(services: dict[str, Any]) -> None:
    """Stop what ``up`` started (a Slurm or PostgreSQL that already ran keeps running)."""
    stop_server(services)
    env = _env(Path(services["state"]))
    subprocess.run([ROOT / "scripts/cluster/slurm.sh", "down"], env=env, check=False)
    subprocess.run([ROOT / "scripts/cluster/postgres.sh", "down"], env=env, check=False)


def answers(uri: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sweep_command(services: dict[str, Any], extra: list[str], grid: list[str] = GRID) -> list[str]:
    return [
        PYTHON,
        "-m",
        "ablation.run",
        *grid,
        *SLURM,
        f"tracking.uri={services['uri']}",
        f"tracking.experiment={EXPERIMENT}",
        f"hydra.sweep.dir={Path(services['out']) / 'runs'}",
        *extra,
    ]


def report(services: dict[str, Any], extra: tuple[str, ...] = ()) -> None:
    """The CSV and the report, both read from the server."""
    out, uri = Path(services["out"]), services["uri"]
    tracking = [f"tracking.uri={uri}", f"tracking.experiment={EXPERIMENT}", *extra]
    subprocess.run([PYTHON, "-m", "ablation.export", *tracking, f"out={out / 'ablation.csv'}"], check=True, cwd=ROOT)
    subprocess.run([PYTHON, "-m", "ablation.report", *tracking, f"out={out / 'report'}"], check=True, cwd=ROOT)


def check(services: dict[str, Any]) -> dict[str, Any]:
    """What the sweep left in Slurm's job records and on the server, as one dict (also printed)."""
    out, uri = Path(services["out"]), services["uri"]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = [
        r for r in client.search_runs([experiment.experiment_id], max_results=1000) if r.data.tags.get("config_hash")
    ]
    configs: dict[str, list[Any]] = {}
    for run in runs:
        configs.setdefault(run.data.tags["config_hash"], []).append(run)
    per_config = []
    for _config_hash, tries in sorted(configs.items(), key=lambda item: item[1][0].info.run_name):
        run = tries[0]
        history = client.get_metric_history(run.info.run_id, "mAP50")
        per_config.append(
            {
                "name": run.info.run_name,
                "runs": len(tries),
                "status": [t.info.status for t in tries],
                "map50_steps": sorted(m.step for m in history),
                "artifact_uri": run.info.artifact_uri,
                "coco/AP": run.data.metrics.get("coco/AP"),
                "latency_ms": run.data.metrics.get("latency_ms"),
                "resumed": run.data.tags.get("resumed") or run.data.params.get("resumed"),
            }
        )
    best = None
    if runs:
        import mlflow.artifacts

        with tempfile.TemporaryDirectory() as folder:
            path = Path(
                mlflow.artifacts.download_artifacts(
                    run_id=runs[0].info.run_id, artifact_path="weights/best.pt", dst_path=folder, tracking_uri=uri
                )
            )
            best = {"run": runs[0].info.run_name, "bytes": path.stat().st_size, "zip": path.read_bytes()[:2] == b"PK"}
    csv = out / "ablation.csv"
    result = {
        "uri": uri,
        "experiment_id": experiment.experiment_id,
        "slurm_tasks": slurm_tasks(out / "runs"),
        "configs": per_config,
        "best_pt": best,
        "csv_rows": sum(1 for _ in csv.open()) - 1 if csv.is_file() else None,
        "report": (out / "report" / "report.html").is_file(),
    }
    (out / "check.json").write_text(json.dumps(result, indent=1))
    return result


def slurm_tasks(sweep_dir: Path) -> list[dict[str, Any]]:
    """The job record of every task the sweep submitted (``<array>_<index>``, or the job id when
    submitit sent a single job): its last state and exit code, after requeues, and how many
    records it has. From sacct when accounting is on, else Slurm's job completion log
    (jobcomp/filetxt)."""
    folder = sweep_dir / ".submitit"
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name[:1].isdigit()) if folder.is_dir() else []
    records = _job_records(sorted({name.split("_")[0] for name in names}))
    tasks = []
    for name in names:
        mine = [r for r in records if r["task"] == name]
        if mine:
            tasks.append(
                {"task": name, "state": mine[-1]["state"], "exit_code": mine[-1]["exit_code"], "records": len(mine)}
            )
    return tasks


def _job_records(job_ids: list[str]) -> list[dict[str, str]]:
    """``{task, state, exit_code}`` per record of these jobs (requeued tasks have several), oldest first."""
    if not job_ids:
        return []
    sacct = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-D", "-j", ",".join(job_ids), "-o", "JobID,State,ExitCode"],
        capture_output=True,
        text=True,
    )
    if sacct.returncode == 0 and sacct.stdout.strip():
        rows = [line.split("|") for line in sacct.stdout.splitlines()]
        return [
            {"task": job, "state": state.split()[0], "exit_code": code} for job, state, code in rows if "[" not in job
        ]
    config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True).stdout
    location = re.search(r"^JobCompLoc\s*=\s*(\S+)", config, re.M)
    if not location or not Path(location.group(1)).is_file():
        return []
    rows = []
    for line in Path(location.group(1)).read_text().splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        array = fields.get("ArrayJobId")
        task = f"{array}_{fields.get('ArrayTaskId')}" if array else fields.get("JobId", "")
        if task.split("_")[0] in job_ids:
            rows.append({"task": task, "state": fields.get("JobState", ""), "exit_code": fields.get("ExitCode", "")})
    return rows


def print_check(result: dict[str, Any]) -> bool:
    """The checks in words; True when every one holds."""
    tasks, configs = result["slurm_tasks"], result["configs"]
    ok_tasks = [t for t in tasks if t["state"] == "COMPLETED" and t["exit_code"] == "0:0"]
    one_finished = [c for c in configs if c["runs"] == 1 and c["status"] == ["FINISHED"]]
    # mAP50 once per epoch (steps 0..E-1), then upstream's final validation of best.pt at step E
    complete = [
        c
        for c in configs
        if c["map50_steps"] == list(range(len(c["map50_steps"])))
        and len(c["map50_steps"]) > 1
        and c["coco/AP"] is not None
        and c["latency_ms"] is not None
    ]
    lines = [
        (
            len(tasks) == len(configs) == len(ok_tasks) > 0,
            f"Slurm: {len(tasks)} array tasks for {len(configs)} configs, {len(ok_tasks)} COMPLETED with exit code 0:0",
        ),
        (
            len(one_finished) == len(configs) > 0,
            f"MLflow ({result['uri']}): {len(one_finished)}/{len(configs)} configs are one FINISHED run",
        ),
        (
            len(complete) == len(configs) > 0,
            f"per-epoch metrics (each epoch once), coco/AP and latency_ms in {len(complete)}/{len(configs)} runs "
            f"(epochs: {sorted({len(c['map50_steps']) - 1 for c in configs})})",
        ),
        (
            bool(result["best_pt"]) and result["best_pt"]["zip"],
            f"best.pt downloaded through the server: {result['best_pt']}",
        ),
        (
            result["csv_rows"] == len(configs) and result["report"],
            f"CSV rows from the server: {result['csv_rows']}, report: {result['report']}",
        ),
    ]
    for good, text in lines:
        print(f"  [{'ok' if good else 'FAILED'}] {text}")
    return all(good for good, _ in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--out", type=Path, default=ROOT / "cluster-demo")
    parser.add_argument("--port", type=int, default=0)
    argv = sys.argv[1:] if argv is None else argv
    args, overrides = parser.parse_known_args(argv if argv[:1] and argv[0] in STEPS else ["all", *argv])
    if any(o.startswith("-") for o in overrides):
        parser.error(f"unknown option {overrides}; sweep overrides look like train.epochs=3")
    out = args.out.resolve()
    if args.step in ("down", "check"):
        services = json.loads((out / "state" / "services.json").read_text())
        if args.step == "down":
            down(services)
            return 0
        return 0 if print_check(check(services)) else 1
    if os.geteuid() != 0:
        print("error: the cluster demo installs and starts system services; run it as root.", file=sys.stderr)
        return 2
    services = up(out, args.port)
    if args.step == "up":
        print(json.dumps(services))
        return 0
    try:
        command = sweep_command(services, overrides)
        log(" ".join(command[1:]))
        code = subprocess.run(command, cwd=ROOT, env={**os.environ, **SWEEP_ENV}).returncode
        if code == 2:  # refused before anything was submitted: the sweep said why
            return code
        report(services)
        print("\n[cluster-demo] checks:")
        result = check(services)
        good = print_check(result)
        print("\n".join(dashboard_hint(services, result["experiment_id"])))
        return code or (0 if good else 1)
    finally:
        down(services)


def dashboard_hint(services: dict[str, Any], experiment_id: str) -> list[str]:
    return [
        f"[cluster-demo] services stopped. The runs stay in PostgreSQL database {DATABASE} and in "
        f"{services['artifacts']}; to browse them: scripts/cluster/postgres.sh up; scripts/mlflow_server.sh "
        f"{services['backend']} {services['artifacts']} {services['port']}",
        f"  then open {services['uri']}/{RUNS_VIEW.format(id=experiment_id)}",
    ]


if __name__ == "__main__":
    sys.exit(main())
