"""Prometheus metrics of a service process, served at ``/metrics`` on their own HTTP listener.

Each process has its own registry (not the library's global one: tests run several in one
process). Label values come from fixed sets only: RPC methods registered on the server, status
code names, readiness checks, topic partitions, states the domain defines.

- ``skillpay_rpc_requests_total{method,code}`` and ``skillpay_rpc_duration_seconds{method,code}``
  (histogram), counted by the server interceptor;
- ``skillpay_ready`` (1/0) and ``skillpay_ready_check{check}``, ``skillpay_outbox_backlog``,
  ``skillpay_outbox_oldest_unpublished_age_seconds``, ``skillpay_consumer_lag{topic,partition}``:
  as of the last readiness check (``skillpay.readiness``);
- read from the database when scraped (at most every ``CACHE_S``, bounded by a timeout):
  ``skillpay_parked_events`` and each service's own gauges (payments by state, ...);
  ``skillpay_metrics_database_up`` says whether that read worked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from skillpay.clock import aware
from skillpay.readiness import CHECKS, ReadinessMonitor

log = logging.getLogger(__name__)

CACHE_S = 2.0
QUERY_TIMEOUT_S = 2.0
RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Sample:
    """One value of a gauge read from the database; labels from a fixed set of values."""

    name: str
    documentation: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


# A service's own gauges: given a connection, the samples (see e.g. ledger_svc/adapters/metrics.py).
GaugeQuery = Callable[[object], Awaitable[Sequence[Sample]]]


async def parked_events(conn) -> list[Sample]:
    from skillpay.dead_letters import ParkedEventStore, ParkedState

    store = ParkedEventStore(conn)
    return [Sample("skillpay_parked_events", "Events parked after failing to apply (dead letters), by state",
                   await store.count(state), {"state": state.value}) for state in ParkedState]


def grouped(name: str, documentation: str, label: str, rows, known: Sequence[str] = ()) -> list[Sample]:
    """Samples from ``(value, count)`` rows; every known value is present, 0 when no row has it."""
    counts = dict.fromkeys(known, 0)
    counts.update({str(value): int(n) for value, n in rows})
    return [Sample(name, documentation, n, {label: value}) for value, n in sorted(counts.items())]


class ServiceMetrics:
    def __init__(self, db=None, monitor: ReadinessMonitor | None = None, gauges: GaugeQuery | None = None):
        self.registry = CollectorRegistry()
        self._db = db
        self._monitor = monitor
        self._gauges = gauges
        self._samples: list[Sample] = []
        self._database_up: bool | None = None
        self._read_at = float("-inf")
        self.rpc_requests = Counter("skillpay_rpc_requests", "RPCs answered, by method and status code",
                                    ["method", "code"], registry=self.registry)
        self.rpc_seconds = Histogram("skillpay_rpc_duration_seconds", "Time to answer an RPC, by method and code",
                                     ["method", "code"], buckets=RPC_BUCKETS, registry=self.registry)
        self.registry.register(_Collector(self))

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        self.rpc_requests.labels(method, code).inc()
        self.rpc_seconds.labels(method, code).observe(seconds)

    async def refresh(self) -> None:
        """Read the database-derived gauges, unless read less than CACHE_S ago."""
        if self._db is None or time.monotonic() - self._read_at < CACHE_S:
            return
        self._read_at = time.monotonic()
        try:
            self._samples = await asyncio.wait_for(self._read(), QUERY_TIMEOUT_S)
            self._database_up = True
        except Exception as exc:  # noqa: BLE001 - a scrape shows the failure; it never fails itself
            log.debug("metrics: database gauges unreadable (%s)", type(exc).__name__)
            self._samples, self._database_up = [], False

    async def _read(self) -> list[Sample]:
        async with self._db.reader.connect() as conn:
            samples = await parked_events(conn)
            if self._gauges is not None:
                samples += list(await self._gauges(conn))
        return samples

    async def render(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry)

    def _families(self):
        if self._database_up is not None:
            up = GaugeMetricFamily("skillpay_metrics_database_up", "1 when the last read of the gauges below worked")
            up.add_metric([], 1 if self._database_up else 0)
            yield up
        families: dict[str, GaugeMetricFamily] = {}
        for s in self._samples:
            family = families.get(s.name)
            if family is None:
                family = families[s.name] = GaugeMetricFamily(s.name, s.documentation, labels=list(s.labels))
            family.add_metric(list(s.labels.values()), s.value)
        yield from families.values()
        if self._monitor is None:
            return
        current = self._monitor.current
        ready = GaugeMetricFamily("skillpay_ready", "1 when the service can make progress (gRPC health SERVING)")
        ready.add_metric([], 1 if current.ready else 0)
        yield ready
        checks = GaugeMetricFamily("skillpay_ready_check", "1 when the readiness check passes", labels=["check"])
        for check in CHECKS:
            checks.add_metric([check], 0 if current.reasons.get(check) else 1)
        yield checks
        obs = current.observation
        if obs.outbox_backlog is not None:
            yield GaugeMetricFamily("skillpay_outbox_backlog", "Events in the outbox not yet published",
                                    value=obs.outbox_backlog)
            age = 0.0
            if obs.oldest_unpublished_at is not None and current.checked_at is not None:
                age = max(0.0, (current.checked_at - aware(obs.oldest_unpublished_at)).total_seconds())
            yield GaugeMetricFamily("skillpay_outbox_oldest_unpublished_age_seconds",
                                    "How long the oldest unpublished event has waited (0: none waits)", value=age)
        if obs.lag is not None:
            lag = GaugeMetricFamily("skillpay_consumer_lag", "Events on the broker not yet applied, per partition",
                                    labels=["topic", "partition"])
            for (topic, partition), n in sorted(obs.lag.items()):
                lag.add_metric([topic, str(partition)], n)
            yield lag


class _Collector:
    def __init__(self, owner: ServiceMetrics):
        self._owner = owner

    def describe(self):
        return []  # unchecked collector: what it yields depends on the last readings

    def collect(self):
        yield from self._owner._families()


MAX_REQUEST_HEAD = 8 * 1024


class MetricsServer:
    """A minimal HTTP/1.1 listener on the service's event loop: ``GET /metrics``, nothing else.

    On the loop itself so that database-derived gauges are read with the service's own async
    engine; each connection answers one request and closes.
    """

    def __init__(self, render: Callable[[], Awaitable[bytes]]):
        self._render = render
        self._server: asyncio.AbstractServer | None = None
        self.address = ""

    async def start(self, listen: str) -> str:
        host, port = listen.rsplit(":", 1)
        host = host.strip("[]")
        self._server = await asyncio.start_server(self._handle, host, int(port), limit=MAX_REQUEST_HEAD)
        bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
        self.address = f"[{bound_host}]:{bound_port}" if ":" in bound_host else f"{bound_host}:{bound_port}"
        return self.address

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            parts = head.split(b"\r\n", 1)[0].split(b" ")
            method, target = parts[0], (parts[1] if len(parts) > 1 else b"")
            if method not in (b"GET", b"HEAD"):
                status, body, ctype = "405 Method Not Allowed", b"only GET\n", "text/plain"
            elif target.split(b"?", 1)[0] != b"/metrics":
                status, body, ctype = "404 Not Found", b"see /metrics\n", "text/plain"
            else:
                status, body, ctype = "200 OK", await self._render(), CONTENT_TYPE_PLAIN_0_0_4
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                         "Connection: close\r\n\r\n".encode() + (b"" if method == b"HEAD" else body))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
            pass  # a client that sent no complete request gets nothing
        except Exception:  # noqa: BLE001 - one bad scrape must not end the listener
            log.exception("metrics: answering a scrape failed")
        finally:
            writer.close()
