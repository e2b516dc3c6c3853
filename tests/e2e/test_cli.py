"""The two user-facing commands, as a user runs them: ``skillpay up`` and ``skillpay demo``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from skillpay.cli.broker import free_port
from skillpay.cli.stack import ALL_SERVICES, grpc_serving

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path) -> dict[str, str]:
    # PYTHONPATH: run from tmp_path, the command must still run this checkout, not another installed copy.
    env = dict(os.environ, SKILLPAY_DATA_DIR=str(tmp_path / "var"), SKILLPAY_BROKER_PORT=str(free_port()),
               COLUMNS="120", PYTHONPATH=os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH")))))
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    for name in ALL_SERVICES:
        env[f"SKILLPAY_{name.upper()}_PORT"] = str(free_port())
        env[f"{name.upper()}_METRICS_LISTEN"] = "127.0.0.1:0"  # only the gRPC services read it
    return env


def _skillpay(*args) -> list[str]:
    return [sys.executable, "-m", "skillpay.cli", *args]


def test_up_starts_everything_and_ctrl_c_stops_it_cleanly(tmp_path):
    env = _env(tmp_path)
    proc = subprocess.Popen(_skillpay("up"), env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    # Read what the user sees as it comes; "Press Ctrl-C" is printed once everything is ready.
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not any("Press Ctrl-C to stop" in line for line in lines):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "the stack did not come up: " + "".join(lines)
            time.sleep(0.2)
        gateway = f"http://127.0.0.1:{env['SKILLPAY_GATEWAY_PORT']}/healthz"
        assert httpx.get(gateway, timeout=5).json().get("status") == "ok"
        for name in ("voucher", "claim", "ledger"):
            assert grpc_serving(f"127.0.0.1:{env[f'SKILLPAY_{name.upper()}_PORT']}")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = "".join(lines)
    assert proc.returncode == 0, out
    # The log says where everything listens, and that it stopped.
    assert f"127.0.0.1:{env['SKILLPAY_VOUCHER_PORT']}" in out and "embedded tansu" in out and "stopped." in out
    for name in ("voucher", "claim", "ledger"):
        assert not grpc_serving(f"127.0.0.1:{env[f'SKILLPAY_{name.upper()}_PORT']}")
    assert (tmp_path / "var" / "voucher.sqlite3").exists()


def test_ctrl_c_while_starting_is_a_clean_stop(tmp_path):
    env = _env(tmp_path)
    proc = subprocess.Popen(_skillpay("up"), env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        # Once the first service listens, start-up is under way but not finished.
        deadline = time.monotonic() + 60
        while not grpc_serving(f"127.0.0.1:{env['SKILLPAY_VOUCHER_PORT']}"):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert "stopped." in out
    for name in ALL_SERVICES:  # nothing left running, bank simulator and gateway included
        assert not _listening(int(env[f"SKILLPAY_{name.upper()}_PORT"])), name


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def test_demo_starts_a_stack_pays_every_voucher_and_reports(tmp_path):
    env = _env(tmp_path)
    result = subprocess.run(_skillpay("demo", "--count", "12", "--concurrency", "4"), env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "every voucher paid" in out
    assert "paid: 12" in out and "settled: 12" in out
    assert "¥18,000.00" in out  # 12 × 1,500 yuan disbursed from the demo fund
