"""Starts and stops the whole SkillPay stack as separate OS processes.

Used by ``skillpay up`` / ``skillpay demo``, by the end-to-end tests and by the benchmarks, so
all of them run the system the same way: the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS
is given), the bank simulator, the three gRPC services and the gateway, each with its own log
file under ``<data_dir>/logs``.

A port of 0 means "any free port": the process binds it and writes the address it got to its
ready file (``<data_dir>/ready/<name>.addr``, see ``skillpay.ready``), where the stack reads it.
Picking free ports here and handing them over would race other processes for them.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cryptography.hazmat.primitives import serialization

from skillpay import auth
from skillpay.cli.broker import EmbeddedBroker
from skillpay.ready import READY_FILE_ENV, read_port
from skillpay.settings import CommonSettings

GRPC_SERVICES = ("voucher", "claim", "ledger")
ALL_SERVICES = ("bank", *GRPC_SERVICES, "gateway")
DEFAULT_PORTS = {"voucher": 50051, "claim": 50052, "ledger": 50053, "gateway": 8080, "bank": 8070}
MODULES = {
    "bank": "bank_sim",
    "voucher": "voucher_svc.entrypoints.grpc_server",
    "claim": "claim_svc.entrypoints.grpc_server",
    "ledger": "ledger_svc.entrypoints.grpc_server",
    "gateway": "gateway.app",
}
# Whose addresses go into a process's environment: it starts once their ports are known.
NEEDS = {"ledger": ("bank",), "gateway": GRPC_SERVICES}


@dataclass
class Stack:
    data_dir: Path
    kafka_bootstrap: str = ""
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    database_urls: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    broker_port: int | None = None
    host: str = "127.0.0.1"
    # Prometheus listeners of the gRPC services; None: each service's default (or its
    # *_METRICS_LISTEN variable), 0: any free port, announced in ready/<name>.metrics.addr.
    metrics_ports: dict[str, int] | None = None

    def __post_init__(self):
        self.data_dir = Path(self.data_dir).resolve()
        self.logs_dir = self.data_dir / "logs"
        self.broker: EmbeddedBroker | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self._keys: dict[str, str] = {}

    @classmethod
    def on_free_ports(cls, data_dir: Path, **kwargs) -> "Stack":
        """Every process binds port 0; a restarted one gets the port it had (its clients know no other)."""
        kwargs.setdefault("metrics_ports", dict.fromkeys(GRPC_SERVICES, 0))
        return cls(data_dir, ports=dict.fromkeys(ALL_SERVICES, 0), **kwargs)

    def ready_file(self, name: str) -> Path:
        return self.data_dir / "ready" / f"{name}.addr"

    def metrics_addr(self, name: str) -> str | None:
        """Where a gRPC service serves /metrics (host:port), once it has said so."""
        path = self.ready_file(name).with_name(f"{name}.metrics.addr")
        return path.read_text().strip() if read_port(path) else None

    def port_known(self, name: str) -> bool:
        if not self.ports[name]:
            self.ports[name] = read_port(self.ready_file(name)) or 0
        return bool(self.ports[name])

    def addr(self, name: str) -> str:
        return f"{self.host}:{self.ports[name]}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.addr('gateway')}"

    @property
    def bank_url(self) -> str:
        return f"http://{self.addr('bank')}"

    def _shared_keys(self) -> dict[str, str]:
        """One machine, one set of PII keys and one signing key pair (kept in the data directory)."""
        if not self._keys:
            settings = CommonSettings(SKILLPAY_DATA_DIR=str(self.data_dir))
            self._keys = {"SKILLPAY_PII_KEY": base64.b64encode(settings.key_bytes("pii")).decode(),
                          "SKILLPAY_LOOKUP_KEY": base64.b64encode(settings.key_bytes("lookup")).decode(),
                          "SKILLPAY_AUTH_PUBLIC_KEY": auth.public_pem(self._signing_key())}
        return self._keys

    def _signing_key(self):
        return auth.load_or_create_private_key(self.data_dir / "keys" / "actor_signing.pem")

    def token_issuer(self) -> auth.TokenIssuer:
        """Signs the identities the CLI, the demo and the tests act under."""
        return auth.TokenIssuer(self._signing_key())

    def env_for(self, name: str) -> dict[str, str]:
        env = dict(self._shared_keys())
        env.update(os.environ)
        env.update({
            "SKILLPAY_DATA_DIR": str(self.data_dir),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "PYTHONUNBUFFERED": "1",
            READY_FILE_ENV: str(self.ready_file(name)),
        })
        if name == "gateway":
            # Only the gateway issues identities (its own, for now); services only verify them.
            env["SKILLPAY_AUTH_PRIVATE_KEY"] = self._signing_key().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()
        if name == "bank":
            env.update(BANK_SIM_HOST=self.host, BANK_SIM_PORT=str(self.ports["bank"]))
        elif name == "gateway":
            env.update(GATEWAY_HOST=self.host, GATEWAY_PORT=str(self.ports["gateway"]),
                       **{f"GATEWAY_{s.upper()}_ADDR": self.addr(s) for s in GRPC_SERVICES})
        else:
            prefix = name.upper()
            env[f"{prefix}_GRPC_LISTEN"] = self.addr(name)
            if self.metrics_ports is not None and name in self.metrics_ports:
                env[f"{prefix}_METRICS_LISTEN"] = f"{self.host}:{self.metrics_ports[name]}"
            if name in self.database_urls:
                env[f"{prefix}_DATABASE_URL"] = self.database_urls[name]
            if name == "ledger":
                env["LEDGER_BANK_URL"] = self.bank_url
        env.update(self.extra_env)
        return env

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout_s: float = 60) -> "Stack":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        if not self.kafka_bootstrap:
            self.broker = EmbeddedBroker(self.broker_port, self.logs_dir / "broker.log").start()
            self.kafka_bootstrap = self.broker.bootstrap
        self.wait_ready(timeout_s, start=ALL_SERVICES)
        return self

    def start_service(self, name: str) -> None:
        self.ready_file(name).unlink(missing_ok=True)
        self.ready_file(name).with_name(f"{name}.metrics.addr").unlink(missing_ok=True)
        log = open(self.logs_dir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen([sys.executable, "-m", MODULES[name]], env=self.env_for(name),
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def stop_service(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 15) -> int | None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        proc.send_signal(sig)
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def stop(self) -> None:
        # Reverse order: the gateway first, the bank and the broker last.
        for name in reversed(ALL_SERVICES):
            self.stop_service(name)
        if self.broker is not None:
            self.broker.stop()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def dead_services(self) -> dict[str, int]:
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    # -- readiness -------------------------------------------------------------------------
    def wait_ready(self, timeout_s: float = 60, services=ALL_SERVICES, start=()) -> None:
        """Wait until ``services`` serve, starting those in ``start`` once the ports they need are known."""
        deadline = time.monotonic() + timeout_s
        pending = set(services)
        to_start = list(start)
        while pending:
            for name in [n for n in to_start if all(self.port_known(d) for d in NEEDS.get(n, ()))]:
                self.start_service(name)
                to_start.remove(name)
            dead = self.dead_services()
            if dead:
                raise RuntimeError(f"processes exited during start-up: {dead}; see {self.logs_dir}")
            pending = {name for name in pending if not self.is_ready(name)}
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s}s: {sorted(pending)}; see {self.logs_dir}")
            if pending:
                time.sleep(0.1)

    def is_ready(self, name: str) -> bool:
        if name not in self.procs or not self.port_known(name):
            return False
        if name in GRPC_SERVICES:
            return grpc_serving(self.addr(name))
        url = self.gateway_url if name == "gateway" else self.bank_url
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


def grpc_serving(addr: str, timeout_s: float = 1.0) -> bool:
    try:
        with grpc.insecure_channel(addr) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
            return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False
