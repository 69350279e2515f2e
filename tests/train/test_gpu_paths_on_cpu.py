"""What makes GPU training work, checked without a GPU: AMP decision, deterministic mode, leases."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch

from ablation.engines.yolov5 import compat
from ablation.engines.yolov5.paths import model_yaml
from ablation.plan.preflight import build_model
from ablation.train import devices


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_amp_self_check_runs_offline_and_leaves_the_rng_alone(no_network: None) -> None:
    model = build_model(model_yaml("yolov5n"))
    state = torch.get_rng_state()
    ok, worst = compat.amp_self_check(model, size=64)  # CPU autocast: bfloat16
    assert torch.equal(state, torch.get_rng_state())
    assert ok and 0.0 <= worst <= 0.1


def test_amp_self_check_rejects_a_model_that_overflows_under_autocast() -> None:
    class OverflowsUnderAutocast(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            out = x.flatten(1)[:, :6].unsqueeze(0) * self.w
            return [out * float("inf") if torch.is_autocast_enabled(x.device.type) else out]

    ok, worst = compat.amp_self_check(OverflowsUnderAutocast(), size=8)
    assert not ok and worst == float("inf")


def test_offline_amp_check_replaces_upstream_and_records_the_decision(no_network: None) -> None:
    from yolov5 import train

    original, decisions = train.check_amp, []
    with compat.offline_amp_check("auto", lambda amp, reason: decisions.append((amp, reason))):
        assert train.check_amp is not original
        assert train.check_amp(build_model(model_yaml("yolov5n"))) is False  # CPU: never AMP
    assert train.check_amp is original
    assert decisions == [(False, "AMP is only used on CUDA (device cpu)")]


@pytest.mark.parametrize(("mode", "warn_only"), [("warn", True), ("strict", False)])
def test_deterministic_mode(mode: str, warn_only: bool) -> None:
    from yolov5.utils.general import init_seeds

    with compat.deterministic_mode(mode):
        init_seeds(0, deterministic=True)  # what upstream's train() calls
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled() is warn_only
    torch.use_deterministic_algorithms(False)
    with pytest.raises(ValueError, match="choose one of strict, warn"):
        with compat.deterministic_mode("sometimes"):
            pass


def test_gpu_leases_are_exclusive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    with devices.lease("", tmp_path) as first, devices.lease("", tmp_path) as second:
        assert {first.gpu, second.gpu} == {"3", "5"}
        assert first.env == {"CUDA_VISIBLE_DEVICES": first.gpu}
    with devices.lease("", tmp_path) as again:
        assert again.gpu == "3"  # released
    with devices.lease("1", tmp_path) as explicit:  # the user's choice is left to upstream
        assert explicit.env == {} and explicit.gpu == ""


def test_cpu_jobs_share_the_cores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setattr(devices, "parallel_jobs", lambda: 2)
    monkeypatch.setattr(devices.os, "cpu_count", lambda: 8)
    with devices.lease("", tmp_path) as lease:
        assert lease.threads == 4 and lease.env == {}
    monkeypatch.setattr(devices, "parallel_jobs", lambda: 1)
    with devices.lease("cpu", tmp_path) as lease:
        assert lease.threads is None
    assert devices.default_parallel_jobs() == 2  # no GPU: 2 jobs
