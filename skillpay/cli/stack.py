"""Starts and stops the whole SkillPay stack as separate OS processes.

Used by ``skillpay up`` / ``skillpay demo``, by the end-to-end tests and by the benchmarks, so
all of them run the system the same way: the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS
is given), the bank simulator, the three gRPC services and the gateway, each with its own log
file under ``<data_dir>/logs``.

A port of 0 means "any free port": the process binds it and writes the address it got to its
ready file (``<data_dir>/ready/<name>.addr``, see ``skillpay.ready``), where the stack reads it.
Picking free ports here and handing them over would race other processes for them.

``Stack.from_environment`` reads the variables each process documents (``VOUCHER_GRPC_LISTEN``,
``GATEWAY_PORT``, ``LEDGER_BANK_URL``, ...) through the processes' own settings classes, so a name
and its default are defined once. ``Supervisor`` restarts children that die (``skillpay up``).
Each child's pid is kept in ``<data_dir>/pids/<name>.pid`` while the stack runs.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import Field, ValidationError

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
NEEDS = {"ledger": ("bank",), "voucher": ("ledger",), "gateway": GRPC_SERVICES}
DEFAULT_BROKER_PORT = 19092
# Hosts a process may listen on but a client cannot usefully dial.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


class StackSettings(CommonSettings):
    """What only ``skillpay up`` / ``demo`` read: the embedded broker's port (0: any free port)."""

    broker_port: int = Field(default=DEFAULT_BROKER_PORT, ge=0, le=65535, validation_alias="SKILLPAY_BROKER_PORT")


class BadEnvironment(ValueError):
    """A documented environment variable holds a value the stack cannot use; names the variable."""


def split_listen(value: str, variable: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:0`` too) as given to a gRPC service; port 0 means any free port."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535 or len(value) > 300:
        raise BadEnvironment(f"{variable} must be host:port, with a port from 0 to 65535")
    return host, int(port)


def _read(settings_cls):
    """A settings class read from the environment; a bad value is an error naming each variable."""
    try:
        return settings_cls()
    except ValidationError as exc:
        prefix = settings_cls.model_config.get("env_prefix", "")
        # Never echo the value: it may be long, or a secret.
        names = sorted({str(e["loc"][0]) if str(e["loc"][0]).isupper() else f"{prefix}{e['loc'][0]}".upper()
                        for e in exc.errors() if e["loc"]})
        raise BadEnvironment(f"invalid value of {', '.join(n[:80] for n in names[:10])}") from None


@dataclass
class Stack:
    data_dir: Path
    kafka_bootstrap: str = ""
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    database_urls: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    broker_port: int | None = None
    host: str = "127.0.0.1"
    # A part's own listen host where it is not ``host`` (e.g. VOUCHER_GRPC_LISTEN=0.0.0.0:50051).
    hosts: dict[str, str] = field(default_factory=dict)
    # Set: the ledger pays through this bank and no simulator is started.
    external_bank_url: str = ""
    # Addresses the gateway calls instead of this stack's services (GATEWAY_<SERVICE>_ADDR).
    gateway_targets: dict[str, str] = field(default_factory=dict)
    # Prometheus listeners of the gRPC services; None: each service's default (or its
    # *_METRICS_LISTEN variable), 0: any free port, announced in ready/<name>.metrics.addr.
    metrics_ports: dict[str, int] | None = None

    def __post_init__(self):
        self.data_dir = Path(self.data_dir).resolve()
        self.logs_dir = self.data_dir / "logs"
        self.pids_dir = self.data_dir / "pids"
        self.broker: EmbeddedBroker | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self._keys: dict[str, str] = {}
        self.parts = tuple(n for n in ALL_SERVICES if not (n == "bank" and self.external_bank_url))

    @classmethod
    def from_environment(cls, data_dir: Path) -> "Stack":
        """The stack the documented variables describe, read by each process's own settings class."""
        from bank_sim.settings import BankSimSettings
        from claim_svc.config import ClaimSettings
        from gateway.config import GatewaySettings
        from ledger_svc.config import LedgerSettings
        from voucher_svc.config import VoucherSettings

        services = {"voucher": _read(VoucherSettings), "claim": _read(ClaimSettings), "ledger": _read(LedgerSettings)}
        gateway, bank, common = _read(GatewaySettings), _read(BankSimSettings), _read(StackSettings)
        ports, hosts = {"gateway": gateway.port, "bank": bank.port}, {"gateway": gateway.host, "bank": bank.host}
        for name, settings in services.items():
            hosts[name], ports[name] = split_listen(settings.grpc_listen, f"{name.upper()}_GRPC_LISTEN")
        ledger = services["ledger"]
        return cls(
            data_dir, kafka_bootstrap=common.kafka_bootstrap_servers, ports=ports, hosts=hosts,
            database_urls={n: s.database_url for n, s in services.items() if s.database_url},
            broker_port=common.broker_port or None,  # None: the embedded broker picks a free port
            external_bank_url=ledger.bank_url if "bank_url" in ledger.model_fields_set else "",
            gateway_targets={n: getattr(gateway, f"{n}_addr") for n in GRPC_SERVICES
                             if f"{n}_addr" in gateway.model_fields_set})

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

    def listen_host(self, name: str) -> str:
        return self.hosts.get(name) or self.host

    def addr(self, name: str) -> str:
        """Where a client on this machine reaches ``name`` (a wildcard listen host means loopback)."""
        host = self.listen_host(name)
        if host in _WILDCARD_HOSTS:
            host = "[::1]" if ":" in host else "127.0.0.1"
        return f"{host}:{self.ports[name]}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.addr('gateway')}"

    @property
    def bank_url(self) -> str:
        return self.external_bank_url or f"http://{self.addr('bank')}"

    def _shared_keys(self) -> dict[str, str]:
        """One machine, one set of PII keys and one signing key pair (kept in the data directory)."""
        if not self._keys:
            settings = CommonSettings(SKILLPAY_DATA_DIR=str(self.data_dir))
            self._keys = {"SKILLPAY_PII_KEY": base64.b64encode(settings.key_bytes("pii")).decode(),
                          "SKILLPAY_LOOKUP_KEY": base64.b64encode(settings.key_bytes("lookup")).decode(),
                          "SKILLPAY_AUTH_PUBLIC_KEY": auth.public_pem(self._signing_key())}
        return self._keys

    def _signing_key(self):
        # SKILLPAY_AUTH_PRIVATE_KEY when the user set it, else the key pair under the data directory.
        return CommonSettings(SKILLPAY_DATA_DIR=str(self.data_dir)).signing_key()

    def token_issuer(self) -> auth.TokenIssuer:
        """Signs the identities the CLI, the demo and the tests act under."""
        return auth.TokenIssuer(self._signing_key())

    def lookup_key(self) -> bytes:
        """The services' look-up key: names a worker's PERSON identity (skillpay.pii.person_subject)."""
        return base64.b64decode(os.environ.get("SKILLPAY_LOOKUP_KEY") or self._shared_keys()["SKILLPAY_LOOKUP_KEY"])

    def env_for(self, name: str) -> dict[str, str]:
        env = dict(self._shared_keys())
        env.update(os.environ)
        env.update({
            "SKILLPAY_DATA_DIR": str(self.data_dir),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "PYTHONUNBUFFERED": "1",
            READY_FILE_ENV: str(self.ready_file(name)),
        })
        if name in ("gateway", "voucher"):
            # Only the gateway and the voucher service (asking the ledger about funds) issue
            # identities, their own; the other services only verify them.
            env["SKILLPAY_AUTH_PRIVATE_KEY"] = self._signing_key().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()
        # The listen ports are the ones asked for, except that a port-0 process restarted gets the
        # port it had (its clients know no other).
        if name == "bank":
            env.update(BANK_SIM_HOST=self.listen_host("bank"), BANK_SIM_PORT=str(self.ports["bank"]))
        elif name == "gateway":
            env.update(GATEWAY_HOST=self.listen_host("gateway"), GATEWAY_PORT=str(self.ports["gateway"]),
                       **{f"GATEWAY_{s.upper()}_ADDR": self.gateway_targets.get(s) or self.addr(s)
                          for s in GRPC_SERVICES})
        else:
            prefix = name.upper()
            env[f"{prefix}_GRPC_LISTEN"] = f"{self.listen_host(name)}:{self.ports[name]}"
            if self.metrics_ports is not None and name in self.metrics_ports:
                env[f"{prefix}_METRICS_LISTEN"] = f"{self.host}:{self.metrics_ports[name]}"
            if name in self.database_urls:
                env[f"{prefix}_DATABASE_URL"] = self.database_urls[name]
            if name == "ledger":
                env["LEDGER_BANK_URL"] = self.bank_url
            if name == "voucher":
                # A ledger the user named is the one asked about funds; else the stack's own.
                env["VOUCHER_LEDGER_ADDR"] = os.environ.get("VOUCHER_LEDGER_ADDR") or self.addr("ledger")
        env.update(self.extra_env)
        return env

    def needs(self, name: str) -> tuple[str, ...]:
        """The parts of this stack whose ports must be known before ``name`` starts."""
        if name == "gateway":
            return tuple(s for s in GRPC_SERVICES if s not in self.gateway_targets)
        return tuple(n for n in NEEDS.get(name, ()) if n in self.parts)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout_s: float = 60) -> "Stack":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        if not self.kafka_bootstrap:
            self.broker = EmbeddedBroker(self.broker_port, self.logs_dir / "broker.log").start()
            self.kafka_bootstrap = self.broker.bootstrap
            self._write_pid("broker", self.broker.pid)
        self.wait_ready(timeout_s, services=self.parts, start=self.parts)
        return self

    def _write_pid(self, name: str, pid: int | None) -> None:
        self.pids_dir.mkdir(parents=True, exist_ok=True)
        (self.pids_dir / f"{name}.pid").write_text(f"{pid}\n")

    def start_service(self, name: str) -> None:
        self.ready_file(name).unlink(missing_ok=True)
        self.ready_file(name).with_name(f"{name}.metrics.addr").unlink(missing_ok=True)
        log = open(self.logs_dir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen([sys.executable, "-m", MODULES[name]], env=self.env_for(name),
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._write_pid(name, self.procs[name].pid)

    def stop_service(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 15) -> int | None:
        proc = self.procs.pop(name, None)
        # A stale pid file could name an unrelated process once the pid is reused.
        (self.pids_dir / f"{name}.pid").unlink(missing_ok=True)
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
            (self.pids_dir / "broker.pid").unlink(missing_ok=True)

    # -- supervision (see Supervisor) --------------------------------------------------------
    def children(self) -> tuple[str, ...]:
        return (("broker",) if self.broker is not None else ()) + tuple(self.procs)

    def exit_code(self, name: str) -> int | None:
        """None while ``name`` runs; its exit code (negative: the signal) once dead, reaping it."""
        if name == "broker":
            return self.broker.returncode
        return self.procs[name].poll()

    def restart(self, name: str) -> str:
        """Start a dead child again where it was; returns where it listens."""
        if name == "broker":
            self.broker.restart()
            self._write_pid("broker", self.broker.pid)
            return f"{self.broker.bootstrap}, pid {self.broker.pid}"
        self.start_service(name)
        return f"{self.addr(name) if self.ports.get(name) else 'a free port'}, pid {self.procs[name].pid}"

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def dead_services(self) -> dict[str, int]:
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    # -- readiness -------------------------------------------------------------------------
    def wait_ready(self, timeout_s: float = 60, services=None, start=()) -> None:
        """Wait until ``services`` serve, starting those in ``start`` once the ports they need are known."""
        deadline = time.monotonic() + timeout_s
        pending = set(self.parts if services is None else services)
        to_start = list(start)
        while pending:
            for name in [n for n in to_start if all(self.port_known(d) for d in self.needs(n))]:
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


# -- supervision ---------------------------------------------------------------------------------
class Backoff:
    """Delays between restarts of one child: ``first_s``, doubling up to ``max_s``; back to
    ``first_s`` once the child has stayed up ``stable_s`` (a crash loop waits longer and longer,
    a rare crash is restarted at once)."""

    def __init__(self, first_s: float = 0.5, max_s: float = 30.0, stable_s: float = 60.0):
        self.first_s, self.max_s, self.stable_s = first_s, max_s, stable_s
        self._next = first_s

    def after_death(self, uptime_s: float) -> float:
        if uptime_s >= self.stable_s:
            self._next = self.first_s
        delay = self._next
        self._next = min(self._next * 2, self.max_s)
        return delay


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Restarts the stack's dead children (services, gateway, bank simulator, embedded broker).

    ``check`` is called in a loop (``skillpay up``): it reaps a dead child, says what died and how,
    and restarts it after its ``Backoff`` delay, on the port it had. ``stack`` needs ``children()``,
    ``exit_code(name)`` (None while running) and ``restart(name)`` (returns where it listens).
    """

    def __init__(self, stack, say: Callable[[str], None], clock: Callable[[], float] = time.monotonic,
                 backoff: Callable[[], Backoff] = Backoff):
        self.stack, self.say, self.clock, self._new_backoff = stack, say, clock, backoff
        now = clock()
        self._started = {name: now for name in stack.children()}
        self._backoffs: dict[str, Backoff] = {}
        self.due: dict[str, float] = {}  # child -> when it is restarted

    def _schedule(self, name: str, now: float) -> float:
        backoff = self._backoffs.setdefault(name, self._new_backoff())
        delay = backoff.after_death(now - self._started.get(name, now))
        self.due[name] = now + delay
        return delay

    def check(self) -> None:
        now = self.clock()
        for name in self.stack.children():
            if name in self.due:
                if now >= self.due[name]:
                    self._restart(name)
                continue
            code = self.stack.exit_code(name)
            if code is None:
                continue
            uptime = now - self._started.get(name, now)
            delay = self._schedule(name, now)
            self.say(f"{name} died ({describe_exit(code)}) after {uptime:.1f} s up; restarting it in {delay:g} s")

    def _restart(self, name: str) -> None:
        del self.due[name]
        # Counted from this attempt: a restart that fails is a quick death, not a long uptime.
        self._started[name] = self.clock()
        try:
            where = self.stack.restart(name)
        except Exception as exc:  # noqa: BLE001 - any failure to start is retried, not fatal to the others
            delay = self._schedule(name, self.clock())
            self.say(f"{name} could not be restarted ({type(exc).__name__}: {str(exc)[:200]}); "
                     f"trying again in {delay:g} s")
            return
        self._started[name] = self.clock()
        self.say(f"{name} restarted on {where}")
