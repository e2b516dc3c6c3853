"""Wiring common to every gRPC service process: migrations, database, relay, consumer, server."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import date_pb2

from skillpay import tracing
from skillpay.clock import aware
from skillpay.db import Database, run_migrations
from skillpay.grpc_server import BackgroundWorkerFailed, configure_logging, serve
from skillpay.kafka import InboxConsumer, OutboxRelay, Translator
from skillpay.metrics import GaugeQuery, MetricsServer, ServiceMetrics
from skillpay.ready import announce, companion
from skillpay.readiness import ReadinessMonitor, ServiceProbe, Thresholds
from skillpay.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    db: Database
    relay: OutboxRelay | None = None
    consumers: list[InboxConsumer] = field(default_factory=list)
    gauges: GaugeQuery | None = None  # the service's own database-derived metrics
    clock: object | None = None  # for readiness (outbox age); the system clock when None
    readiness: ReadinessMonitor | None = None
    metrics: ServiceMetrics | None = None

    def wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()


async def prepare_database(settings: ServiceSettings, migrations_dir: Path) -> Database:
    url = settings.effective_database_url()
    # Alembic's env runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(run_migrations, url, migrations_dir)
    return Database(url)


async def run_service(
    runtime: ServiceRuntime,
    *,
    produces: Sequence[str],
    consumes: Sequence[str],
    translators: dict[str, Translator],
    bus,
    uow_factory: Callable[[], object],
    add_servicers: Callable[[grpc.aio.Server], Sequence[str]],
    extra_background: Sequence[Callable] = (),
) -> None:
    from skillpay.dead_letters import dead_letter_topic
    from skillpay.operations import SERVICE_NAME as OPERATIONS, OperationsServicer
    from skillpay.ops.v1 import ops_pb2_grpc

    s = runtime.settings
    background = []
    dead_letters = dead_letter_topic(s.service_name) if consumes else None
    if s.kafka_bootstrap_servers:
        if produces:
            topics = [*produces, *([dead_letters] if dead_letters else [])]
            runtime.relay = OutboxRelay(runtime.db, s.kafka_bootstrap_servers, topics, s.topic_partitions,
                                        poll_interval_s=s.relay_poll_interval_s, producer_name=s.service_name,
                                        replication=s.topic_replication)
            background.append(runtime.relay.run)
        if consumes:
            consumer = InboxConsumer(runtime.db, uow_factory, bus, s.kafka_bootstrap_servers,
                                     f"skillpay-{s.service_name}", consumes, translators, s.topic_partitions,
                                     s.topic_replication, assignment=s.consumer_assignment,
                                     batch_size=s.consumer_batch_size, max_attempts=s.event_max_attempts,
                                     retry_delay_s=s.event_retry_delay_s,
                                     retry_max_delay_s=s.event_retry_max_delay_s,
                                     dead_letter_topic=dead_letters, service=s.service_name)
            runtime.consumers.append(consumer)
            background.append(consumer.run)
    else:
        log.warning("%s: KAFKA_BOOTSTRAP_SERVERS is not set; events stay in the outbox until a broker is configured",
                    s.service_name)
    background.extend(extra_background)

    probe = ServiceProbe(runtime.db, runtime.relay, runtime.consumers, broker_configured=bool(s.kafka_bootstrap_servers),
                         timeout_s=s.ready_check_timeout_s)
    runtime.readiness = ReadinessMonitor(s.service_name, probe, Thresholds.from_settings(s), clock=runtime.clock,
                                         interval_s=s.ready_interval_s)
    background.append(runtime.readiness.run)
    runtime.metrics = ServiceMetrics(runtime.db, runtime.readiness, runtime.gauges)
    metrics_server = MetricsServer(runtime.metrics.render)
    if s.metrics_listen:
        # Bound before the gRPC server, so a taken port stops the process before it serves.
        address = await metrics_server.start(s.metrics_listen)
        log.info("%s metrics on http://%s/metrics", s.service_name, address)
        if (path := companion("metrics")) is not None:
            announce(address, path)

    async def on_stop() -> None:
        await metrics_server.stop()
        for consumer in runtime.consumers:
            await consumer.stop()
        if runtime.relay is not None:
            await runtime.relay.stop()
        await runtime.db.dispose()

    def add_all_servicers(server: grpc.aio.Server) -> Sequence[str]:
        # Every service also serves its parked events to operators (skillpay.ops.v1.Operations).
        names = list(add_servicers(server))
        ops_pb2_grpc.add_OperationsServicer_to_server(
            OperationsServicer(s.service_name, bus, uow_factory, translators), server)
        return [*names, OPERATIONS]

    await serve(name=s.service_name, listen=s.grpc_listen, add_servicers=add_all_servicers,
                verifier=s.token_verifier(), background=background, on_stop=on_stop,
                readiness=runtime.readiness, observe_rpc=runtime.metrics.observe_rpc)


# Allocations between two collections of the youngest generation (CPython's default is 700): a
# batch chunk allocates a few hundred thousand short-lived objects, none of them in a cycle.
GC_YOUNG_THRESHOLD = 20_000


def settle_gc(young_threshold: int = GC_YOUNG_THRESHOLD) -> None:
    """Once a service is built (modules, tables, bus): what exists now is kept for good, so it is
    moved out of the cyclic collector's sight (``gc.freeze``) and the young generation is
    collected less often. Measured on issue 7's batch path: the collector took ~30 % of the
    service's CPU, scanning the start-up objects again and again; ~5 % after this."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, *gc.get_threshold()[1:])


def main_for(settings: ServiceSettings, start: Callable[[ServiceSettings], object]) -> None:
    configure_logging(settings.log_level, settings.service_name, settings.log_format)
    tracing.configure_from(settings, settings.service_name)
    try:
        asyncio.run(start(settings))
    except BackgroundWorkerFailed as exc:
        log.error("%s; exiting with status 1", exc)
        raise SystemExit(1) from None


# Conversions between protobuf well-known types and aware datetimes, shared by the mappers.
def ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(aware(value))
    return out


# What google.protobuf.Timestamp can hold: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
_TS_MIN_SECONDS, _TS_MAX_SECONDS = -62_135_596_800, 253_402_300_799


def from_ts(value: Timestamp, present: bool, field_name: str = "timestamp") -> datetime | None:
    """An aware datetime, or INVALID_ARGUMENT naming the field when the timestamp is out of range."""
    from skillpay.errors import FieldViolation, InvalidArgument

    if not present:
        return None
    if not (_TS_MIN_SECONDS <= value.seconds <= _TS_MAX_SECONDS and 0 <= value.nanos <= 999_999_999):
        raise InvalidArgument([FieldViolation(field_name, "is not a valid timestamp (years 1-9999, nanos 0-999999999)")])
    try:
        return value.ToDatetime(tzinfo=timezone.utc)
    except (ValueError, OverflowError):  # the last microseconds of 9999 overflow datetime
        raise InvalidArgument([FieldViolation(field_name, "is not a valid timestamp")]) from None


def to_date(value: date | None) -> date_pb2.Date | None:
    return None if value is None else date_pb2.Date(year=value.year, month=value.month, day=value.day)


def from_date(value: date_pb2.Date, present: bool, field_name: str) -> date | None:
    from skillpay.errors import FieldViolation, InvalidArgument

    if not present:
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument([FieldViolation(field_name, "is not a valid calendar date")]) from None
