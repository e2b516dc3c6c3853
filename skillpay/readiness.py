"""Readiness: can this service make progress? Distinct from liveness (the process answers).

A monitor runs in every gRPC service process. Every ``SKILLPAY_READY_INTERVAL_S`` it probes,
each probe bounded by ``SKILLPAY_READY_CHECK_TIMEOUT_S``:

- ``database``: a ``SELECT 1`` and the outbox's unpublished rows (count, oldest) answer;
- ``broker``: the relay and the consumers are connected and the consumers' fetches are answered
  (no broker configured is not a failure here: the outbox backlog check covers what piles up);
- ``consumer_lag``: per partition, the broker's end offset minus the position stored in
  ``consumer_positions``, at most ``SKILLPAY_READY_MAX_CONSUMER_LAG``;
- ``outbox_backlog``: unpublished events at most ``SKILLPAY_READY_MAX_OUTBOX_BACKLOG``, the
  oldest waiting at most ``SKILLPAY_READY_MAX_OUTBOX_AGE_S``.

The result goes to the gRPC health service: ``""`` and each service name report overall
readiness, ``skillpay.readiness.<check>`` each check, ``skillpay.liveness`` stays SERVING while
the process runs. Health carries a status only, so the reasons are logged, one line when the set
of failing checks changes and a reminder every minute while not ready, and exported as metrics
(``skillpay.metrics``). Not being ready never refuses an RPC: it only reports.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from skillpay.clock import Clock, SystemClock, aware

log = logging.getLogger(__name__)

CHECKS = ("database", "broker", "consumer_lag", "outbox_backlog")
COMPONENT_PREFIX = "skillpay.readiness."
LIVENESS = "skillpay.liveness"


@dataclass(frozen=True)
class Thresholds:
    max_outbox_backlog: int = 10_000
    max_outbox_age_s: float = 300.0
    max_consumer_lag: int = 10_000

    @classmethod
    def from_settings(cls, settings) -> "Thresholds":
        return cls(settings.ready_max_outbox_backlog, settings.ready_max_outbox_age_s,
                   settings.ready_max_consumer_lag)


@dataclass(frozen=True)
class Observation:
    """What one probe found. None means "not known this time" (a check that failed first says why)."""

    database_error: str | None = None
    broker_configured: bool = True
    broker_error: str | None = None
    outbox_backlog: int | None = None
    oldest_unpublished_at: datetime | None = None
    lag: Mapping[tuple[str, int], int] | None = None


def evaluate(obs: Observation, thresholds: Thresholds, now: datetime) -> dict[str, str | None]:
    """Each check's reason for not being ready, or None when it passes. Pure: tested with any clock."""
    reasons: dict[str, str | None] = dict.fromkeys(CHECKS)
    if obs.database_error:
        reasons["database"] = f"database unreachable ({obs.database_error})"
    if obs.broker_configured and obs.broker_error:
        reasons["broker"] = f"broker unreachable ({obs.broker_error})"
    if obs.lag:
        (topic, partition), worst = max(obs.lag.items(), key=lambda item: item[1])
        if worst > thresholds.max_consumer_lag:
            reasons["consumer_lag"] = (f"consumer lag {worst} > {thresholds.max_consumer_lag} "
                                       f"on {topic}[{partition}]")
    if obs.outbox_backlog is not None and obs.outbox_backlog > thresholds.max_outbox_backlog:
        reasons["outbox_backlog"] = (f"outbox backlog {obs.outbox_backlog} > {thresholds.max_outbox_backlog} "
                                     "unpublished events")
    elif obs.oldest_unpublished_at is not None:
        waited = (now - aware(obs.oldest_unpublished_at)).total_seconds()
        if waited > thresholds.max_outbox_age_s:
            reasons["outbox_backlog"] = (f"oldest unpublished event waits {waited:.0f} s "
                                         f"> {thresholds.max_outbox_age_s:g} s")
    return reasons


@dataclass(frozen=True)
class Readiness:
    checked_at: datetime | None
    reasons: Mapping[str, str | None]
    observation: Observation = field(default_factory=Observation)

    @property
    def ready(self) -> bool:
        return self.checked_at is not None and not self.failing

    @property
    def failing(self) -> dict[str, str]:
        return {check: reason for check, reason in self.reasons.items() if reason}

    def summary(self) -> str:
        return "; ".join(f"{check}: {reason}" for check, reason in self.failing.items())


NOT_CHECKED = Readiness(None, dict.fromkeys(CHECKS, "not checked yet"))
Probe = Callable[[], Awaitable[Observation]]


class ReadinessMonitor:
    """Probes periodically, keeps the latest :class:`Readiness`, publishes it to gRPC health."""

    def __init__(self, name: str, probe: Probe, thresholds: Thresholds, *, clock: Clock | None = None,
                 interval_s: float = 1.0, remind_every: timedelta = timedelta(minutes=1)):
        self._name = name
        self._probe = probe
        self._thresholds = thresholds
        self._clock = clock or SystemClock()
        self._interval = interval_s
        self._remind_every = remind_every
        self._last_logged_at: datetime | None = None
        self._health = None
        self._published: dict[str, int] = {}
        self._overall_names: tuple[str, ...] = ("",)
        self.current: Readiness = NOT_CHECKED

    async def attach(self, health_servicer, service_names: Sequence[str]) -> None:
        """Publish to this health servicer from now on (not ready until the first check passes)."""
        from grpc_health.v1 import health_pb2

        self._health = health_servicer
        self._overall_names = ("", *service_names)
        await health_servicer.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await self._publish()

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # noqa: BLE001 - a failing probe must not take the service down
                log.exception("%s: readiness check failed", self._name)
            await asyncio.sleep(self._interval)

    async def check(self) -> Readiness:
        observation = await self._probe()
        now = self._clock.now()
        previous, self.current = self.current, Readiness(now, evaluate(observation, self._thresholds, now),
                                                         observation)
        self._log_change(previous, self.current, now)
        await self._publish()
        return self.current

    def _log_change(self, previous: Readiness, current: Readiness, now: datetime) -> None:
        # One line per change of the failing set (not per changing number), a reminder while it lasts.
        changed = previous.checked_at is None or set(previous.failing) != set(current.failing)
        if current.ready:
            if changed:
                log.info("%s: ready%s", self._name,
                         f" again (was: {previous.summary()})" if previous.checked_at is not None else "")
                self._last_logged_at = now
        elif changed:
            # At start-up the relay and consumers are still connecting: not worth a warning yet.
            log.log(logging.INFO if previous.checked_at is None else logging.WARNING,
                    "%s: not ready%s: %s", self._name, " yet" if previous.checked_at is None else "",
                    current.summary())
            self._last_logged_at = now
        elif self._last_logged_at is None or now - self._last_logged_at >= self._remind_every:
            log.warning("%s: still not ready: %s", self._name, current.summary())
            self._last_logged_at = now

    async def _publish(self) -> None:
        if self._health is None:
            return
        from grpc_health.v1 import health_pb2

        serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
        statuses = {f"{COMPONENT_PREFIX}{check}": not_serving if reason else serving
                    for check, reason in self.current.reasons.items()}
        statuses.update(dict.fromkeys(self._overall_names, serving if self.current.ready else not_serving))
        for name, status in statuses.items():
            if self._published.get(name) != status:  # watchers hear of changes only
                await self._health.set(name, status)
                self._published[name] = status


class ServiceProbe:
    """The probe of a service process: its database and outbox, its relay and consumers."""

    def __init__(self, db, relay=None, consumers: Sequence = (), *, broker_configured: bool, timeout_s: float = 2.0):
        self._db = db
        self._relay = relay
        self._consumers = list(consumers)
        self._broker_configured = broker_configured
        self._timeout = timeout_s

    async def __call__(self) -> Observation:
        database_error = backlog = oldest = None
        try:
            backlog, oldest = await asyncio.wait_for(self._outbox(), self._timeout)
        except asyncio.TimeoutError:
            database_error = f"no answer within {self._timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - the kind is the reason; never the URL or the message
            database_error = type(exc).__name__
        broker_error, lag = (await self._broker()) if self._broker_configured else (None, None)
        return Observation(database_error, self._broker_configured, broker_error, backlog, oldest, lag)

    async def _outbox(self) -> tuple[int, datetime | None]:
        from skillpay.messaging import outbox

        async with self._db.reader.connect() as conn:
            await conn.execute(text("SELECT 1"))
            row = (await conn.execute(select(func.count(), func.min(outbox.c.occurred_at))
                                      .where(outbox.c.published_at.is_(None)))).one()
        return int(row[0]), row[1]

    async def _broker(self) -> tuple[str | None, dict[tuple[str, int], int] | None]:
        from aiokafka.errors import KafkaError

        if self._relay is not None and not self._relay.broker_connected:
            return "the outbox relay is not connected", None
        lag: dict[tuple[str, int], int] = {}
        for consumer in self._consumers:
            if not consumer.broker_connected:
                return "a consumer is not connected", None
            try:
                found = await asyncio.wait_for(consumer.lag(), self._timeout)
            except asyncio.TimeoutError:
                return f"no answer within {self._timeout:g} s", None
            except KafkaError as exc:
                return type(exc).__name__, None
            except Exception:  # noqa: BLE001 - positions unreadable: the database check says why
                return None, None
            lag.update({(tp.topic, tp.partition): n for tp, n in found.items()})
        return None, lag
