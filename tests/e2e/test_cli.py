"""The two user-facing commands, as a user runs them: ``skillpay up`` and ``skillpay demo``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from skillpay.broker import free_port
from skillpay.stack import ALL_SERVICES, grpc_serving

pytestmark = pytest.mark.e2e


def _env(tmp_path) -> dict[str, str]:
    env = dict(os.environ, SKILLPAY_DATA_DIR=str(tmp_path / "var"), SKILLPAY_BROKER_PORT=str(free_port()),
               COLUMNS="120")
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    for name in ALL_SERVICES:
        env[f"SKILLPAY_{name.upper()}_PORT"] = str(free_port())
    return env


def _skillpay(*args) -> list[str]:
    return [sys.executable, "-m", "skillpay.cli", *args]


def test_up_starts_everything_and_ctrl_c_stops_it_cleanly(tmp_path):
    env = _env(tmp_path)
    proc = subprocess.Popen(_skillpay("up"), env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    gateway = f"http://127.0.0.1:{env['SKILLPAY_GATEWAY_PORT']}/healthz"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(gateway, timeout=1).json().get("status") == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the stack did not come up"
            time.sleep(0.3)
        for name in ("voucher", "claim", "ledger"):
            assert grpc_serving(f"127.0.0.1:{env[f'SKILLPAY_{name.upper()}_PORT']}")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    # The log says where everything listens, and that it stopped.
    assert f"127.0.0.1:{env['SKILLPAY_VOUCHER_PORT']}" in out and "embedded tansu" in out and "stopped." in out
    for name in ("voucher", "claim", "ledger"):
        assert not grpc_serving(f"127.0.0.1:{env[f'SKILLPAY_{name.upper()}_PORT']}")
    assert (tmp_path / "var" / "voucher.sqlite3").exists()


def test_demo_starts_a_stack_pays_every_voucher_and_reports(tmp_path):
    env = _env(tmp_path)
    result = subprocess.run(_skillpay("demo", "--count", "12", "--concurrency", "4"), env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "every voucher paid" in out
    assert "paid: 12" in out and "settled: 12" in out
    assert "¥18,000.00" in out  # 12 × 1,500 yuan disbursed from the demo fund
