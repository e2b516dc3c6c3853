"""The user-facing commands, as a user runs them: ``skillpay up`` and ``skillpay demo``.

Every process is configured with the names the README documents, on port 0 ("any free port"):
the test learns the ports from the ready files under the data directory, as ``skillpay demo`` does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from skillpay.cli.stack import GRPC_SERVICES, grpc_serving
from skillpay.ready import read_port
from tests.e2e.conftest import bank_statement

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]
LISTEN_ON_ANY_PORT = {"VOUCHER_GRPC_LISTEN": "127.0.0.1:0", "CLAIM_GRPC_LISTEN": "127.0.0.1:0",
                      "LEDGER_GRPC_LISTEN": "127.0.0.1:0", "GATEWAY_PORT": "0", "BANK_SIM_PORT": "0",
                      "SKILLPAY_BROKER_PORT": "0", "VOUCHER_METRICS_LISTEN": "127.0.0.1:0",
                      "CLAIM_METRICS_LISTEN": "127.0.0.1:0", "LEDGER_METRICS_LISTEN": "127.0.0.1:0"}


def _env(tmp_path) -> dict[str, str]:
    # PYTHONPATH: run from tmp_path, the command must still run this checkout, not another installed copy.
    env = dict(os.environ, SKILLPAY_DATA_DIR=str(tmp_path / "var"), COLUMNS="160",
               PYTHONPATH=os.pathsep.join(filter(None, (str(REPO_ROOT), os.environ.get("PYTHONPATH")))),
               **LISTEN_ON_ANY_PORT)
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "LEDGER_BANK_URL", "GATEWAY_VOUCHER_ADDR", "GATEWAY_CLAIM_ADDR",
                 "GATEWAY_LEDGER_ADDR", "VOUCHER_DATABASE_URL", "CLAIM_DATABASE_URL", "LEDGER_DATABASE_URL"):
        env.pop(name, None)
    return env


def _skillpay(*args) -> list[str]:
    return [sys.executable, "-m", "skillpay.cli", *args]


class Up:
    """``skillpay up`` as a user runs it; what it prints is read as it comes."""

    def __init__(self, tmp_path, env):
        self.var = tmp_path / "var"
        self.proc = subprocess.Popen(_skillpay("up"), env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    @property
    def out(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, self.out
            assert time.monotonic() < deadline, f"no {text!r} after {timeout_s}s: {self.out}"
            time.sleep(0.1)

    def addr(self, name: str) -> str:
        """Where ``name`` listens, from the ready file it wrote."""
        port = read_port(self.var / "ready" / f"{name}.addr")
        assert port, f"{name} has not said where it listens"
        return f"127.0.0.1:{port}"

    def pid(self, name: str) -> int:
        return int((self.var / "pids" / f"{name}.pid").read_text())

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        self.reader.join(10)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)


def _is_zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z"
    except OSError:
        return False  # gone: reaped


def _processes_of(data_dir: Path) -> list[int]:
    """Processes (ours: `up` and every child it started) whose environment names this data directory."""
    marker = f"SKILLPAY_DATA_DIR={data_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                if not _is_zombie(int(proc.name)):
                    found.append(int(proc.name))
        except OSError:
            pass
    return found


def test_up_starts_everything_and_ctrl_c_stops_it_cleanly(tmp_path):
    up = Up(tmp_path, _env(tmp_path))
    try:
        up.wait_for("Press Ctrl-C to stop")  # printed once everything is ready
        gateway = up.addr("gateway")
        assert httpx.get(f"http://{gateway}/healthz", timeout=5).json().get("status") == "ok"
        addrs = {name: up.addr(name) for name in GRPC_SERVICES}
        for addr in addrs.values():
            assert grpc_serving(addr) and not addr.endswith(":0")
        assert up.interrupt() == 0, up.out
    finally:
        up.kill()
    # The table says where everything listens (the ports it got), and that it stopped.
    out = up.out
    assert all(addr in out for addr in addrs.values()) and gateway in out
    assert "embedded tansu" in out and "stopped." in out
    for addr in addrs.values():
        assert not grpc_serving(addr)
    assert (tmp_path / "var" / "voucher.sqlite3").exists()
    assert not list((tmp_path / "var" / "pids").iterdir())  # no pid file outlives its process


def test_ctrl_c_while_starting_is_a_clean_stop(tmp_path):
    up = Up(tmp_path, _env(tmp_path))
    try:
        # Once the first service listens, start-up is under way but not finished.
        deadline = time.monotonic() + 60
        while not ((up.var / "ready" / "voucher.addr").exists() and grpc_serving(up.addr("voucher"))):
            assert up.proc.poll() is None and time.monotonic() < deadline, up.out
            time.sleep(0.05)
        assert up.interrupt() == 0, up.out
    finally:
        up.kill()
    assert "stopped." in up.out
    # Nothing left running, broker, bank simulator and gateway included.
    assert _processes_of(up.var.resolve()) == []


def test_up_restarts_a_killed_broker_and_service_and_vouchers_flow_again(tmp_path):
    env = _env(tmp_path)
    up = Up(tmp_path, env)
    try:
        up.wait_for("Press Ctrl-C to stop")
        broker_line = next(line for line in up.lines if "embedded tansu" in line)
        ledger_addr, broker, ledger = up.addr("ledger"), up.pid("broker"), up.pid("ledger")
        os.kill(broker, signal.SIGKILL)
        os.kill(ledger, signal.SIGKILL)
        up.wait_for("broker died (killed by SIGKILL)", 15)
        up.wait_for("ledger died (killed by SIGKILL)", 15)
        up.wait_for("broker restarted on", 30)
        up.wait_for("ledger restarted on", 30)
        # The dead were reaped (no zombies), and each came back where its clients know it.
        for pid in (broker, ledger):
            assert not _is_zombie(pid)
        assert up.pid("broker") != broker and up.pid("ledger") != ledger
        broker_addr = broker_line.split("│")[2].split()[0]
        assert f"broker restarted on {broker_addr}" in up.out
        deadline = time.monotonic() + 30
        while not grpc_serving(ledger_addr):
            assert time.monotonic() < deadline, "the ledger did not come back on its port"
            time.sleep(0.2)
        assert up.addr("ledger") == ledger_addr
        # New vouchers go from issue to paid through the new broker.
        demo = subprocess.run(_skillpay("demo", "--count", "3", "--concurrency", "3", "--timeout-s", "90"),
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert demo.returncode == 0, demo.stdout + demo.stderr + up.out
        assert "Using the SkillPay stack at" in demo.stdout and "every voucher paid" in demo.stdout
        assert up.interrupt() == 0, up.out
    finally:
        up.kill()


def test_up_and_demo_honour_the_documented_variables(tmp_path):
    """LEDGER_BANK_URL points the ledger at a bank of the user's (no simulator is started), and the
    demo finds the port-0 stack `up` started, through the same variables and data directory."""
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    bank_env = dict(_env(tmp_path), SKILLPAY_READY_FILE=str(bank_dir / "bank.addr"), SKILLPAY_DATA_DIR=str(bank_dir),
                    BANK_SIM_DATABASE_PATH=str(bank_dir / "bank.sqlite3"))
    with open(bank_dir / "bank.log", "ab") as log:
        bank = subprocess.Popen(_skillpay("serve", "bank"), env=bank_env, cwd=bank_dir, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    up = None
    try:
        deadline = time.monotonic() + 30
        while not read_port(bank_dir / "bank.addr"):
            assert bank.poll() is None and time.monotonic() < deadline, (bank_dir / "bank.log").read_text()
            time.sleep(0.05)
        bank_url = f"http://127.0.0.1:{read_port(bank_dir / 'bank.addr')}"
        env = dict(_env(tmp_path), LEDGER_BANK_URL=bank_url)
        up = Up(tmp_path, env)
        up.wait_for("Press Ctrl-C to stop")
        assert f"{bank_url} (external, LEDGER_BANK_URL)" in up.out
        assert not (up.var / "ready" / "bank.addr").exists() and not (up.var / "logs" / "bank.log").exists()
        ledger_env = Path(f"/proc/{up.pid('ledger')}/environ").read_bytes().split(b"\0")
        assert f"LEDGER_BANK_URL={bank_url}".encode() in ledger_env
        assert b"LEDGER_GRPC_LISTEN=127.0.0.1:0" in ledger_env  # the user's value, as given

        demo = subprocess.run(_skillpay("demo", "--count", "3", "--concurrency", "3", "--timeout-s", "90"),
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert f"Using the SkillPay stack at voucher {up.addr('voucher')}" in demo.stdout
        settled = [e for e in bank_statement(SimpleNamespace(bank_url=bank_url)) if e["status"] == "settled"]
        assert len(settled) == 3  # paid by the user's bank
        assert up.interrupt() == 0, up.out
    finally:
        if up:
            up.kill()
        bank.terminate()
        bank.wait(10)


def test_demo_starts_a_stack_pays_every_voucher_and_reports(tmp_path):
    env = _env(tmp_path)
    result = subprocess.run(_skillpay("demo", "--count", "12", "--concurrency", "4"), env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # Nothing answers at the configured addresses: it says so, starts a stack and says where.
    assert "No SkillPay stack answers at the configured addresses" in out and "SkillPay is up" in out
    assert "every voucher paid" in out
    assert "paid: 12" in out and "settled: 12" in out
    assert "¥18,000.00" in out  # 12 × 1,500 yuan disbursed from the demo fund
