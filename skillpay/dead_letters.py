"""Events a consumer cannot apply: telling transient failures from poison, parking, and replay.

A failure is *transient* when the infrastructure is at fault (the database locked or unreachable,
the broker down): the consumer retries it for as long as it takes and never parks it. Anything
else (bad data, a domain error, a sealed ID under a key this service cannot open, an envelope that
does not parse) is retried a bounded number of times and then *parked*: a ``parked_events`` row
with the envelope and the error, written in the transaction that also records the event in the
inbox and moves the consumer past it (parked exactly once; nothing lost on a crash), plus an
``event.parked`` message to the service's dead-letter topic through the outbox.

An operator lists parked events and, after fixing the cause, replays one: the stored envelope goes
through the same translator and bus as the consumer, in one unit of work with the state change
``parked -> replayed`` (audited under the operator). A replayed event is never applied again.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from aiokafka.errors import KafkaError
from sqlalchemy import insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from skillpay.actors import Actor
from skillpay.aggregate import Entity
from skillpay.clock import aware, utcnow
from skillpay.db import is_retryable, with_retries
from skillpay.errors import FieldViolation, InvalidArgument, NotFound
from skillpay.events.v1 import events_pb2
from skillpay.logs import escape
from skillpay.messaging import parked_events

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500
DEAD_LETTER_EVENT = "event.parked"


def dead_letter_topic(service: str) -> str:
    return f"skillpay.{service}.v1.deadletter"


# ----------------------------------------------------------------------------- classifying failures

def is_database_error(exc: BaseException) -> bool:
    """Raised by the database layer: SQLAlchemy's errors, or a driver's raised from inside it."""
    if isinstance(exc, (sa_exc.SQLAlchemyError, sqlite3.Error)):
        return True
    tb = exc.__traceback__
    while tb is not None:  # e.g. ConnectionRefusedError from asyncpg's connect, not wrapped
        name = tb.tb_frame.f_globals.get("__name__", "")
        if name.startswith(("sqlalchemy.", "asyncpg.", "aiosqlite.")):
            return True
        tb = tb.tb_next
    return False


def is_transient(exc: BaseException) -> bool:
    """True when the infrastructure failed, not the event: retry it for ever, never park it."""
    if is_retryable(exc):  # lost races, serialization failures, "database is locked"
        return True
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                        sa_exc.TimeoutError, sqlite3.OperationalError, KafkaError, ConnectionError,
                        asyncio.TimeoutError, TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OSError) and is_database_error(exc):
        return True  # a driver's connection error that SQLAlchemy let through
    return False


def escaped(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """Printable, bounded: error messages may quote what an event carried."""
    out = escape(text)
    return out if len(out) <= limit else out[:limit - 1] + "…"


def describe(exc: BaseException) -> tuple[str, str]:
    """(error class, bounded escaped message) for storing and showing."""
    return escaped(type(exc).__name__, 100), escaped(str(exc))


# ----------------------------------------------------------------------------------- the entity

class ParkedState(enum.Enum):
    PARKED = "parked"
    REPLAYED = "replayed"


@dataclass
class ParkedEvent(Entity):
    audit_type = "parked_event"

    id: int
    service: str
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: str
    event_type: str
    envelope: bytes
    error_class: str
    error_message: str
    attempts: int
    parked_at: datetime
    state: ParkedState
    replayed_at: datetime | None = None
    replayed_by: str | None = None
    replay_request_id: str | None = None

    @property
    def public_id(self) -> str:
        return public_id(self.service, self.id)

    def audit_id(self) -> str:
        return self.public_id

    def failed_again(self, exc: BaseException) -> None:
        self.error_class, self.error_message = describe(exc)
        self.attempts += 1


def public_id(service: str, row_id: int) -> str:
    """What operators see and pass back: the service, so the CLI knows whom to ask, and the row."""
    return f"{service}-{row_id}"


def parse_public_id(service: str, value: str) -> int:
    """The row id of ``<service>-<n>``; INVALID_ARGUMENT for another shape, NOT_FOUND for another service."""
    head, _, number = value.rpartition("-")
    if not head or not number.isascii() or not number.isdigit() or len(number) > 18 or len(value) > 64:
        raise InvalidArgument([FieldViolation("parked_event_id", "must look like <service>-<number>, e.g. claim-3")])
    if head != service:
        raise NotFound(f"no such parked event in the {service} service")
    return int(number)


# ----------------------------------------------------------------------------------- the store

def _event_identity(value: bytes) -> tuple[str, str]:
    """(event id, event type) of an envelope, "" where it does not parse or would not fit the inbox."""
    try:
        envelope = events_pb2.EventEnvelope.FromString(value)
    except Exception:  # noqa: BLE001 - any bytes at all may arrive
        return "", ""
    event_id = envelope.event_id if 0 < len(envelope.event_id) <= 36 and envelope.event_id.isprintable() else ""
    return event_id, escaped(envelope.event_type, 100)


class ParkedEventStore:
    def __init__(self, conn: AsyncConnection, service: str = ""):
        self._conn = conn
        self._service = service

    async def park(self, *, consumer: str, topic: str, partition: int, offset: int, envelope: bytes,
                   exc: BaseException, attempts: int, now: datetime) -> ParkedEvent:
        event_id, event_type = _event_identity(envelope)
        error_class, error_message = describe(exc)
        values = dict(consumer=consumer, topic=topic, kafka_partition=partition, kafka_offset=offset,
                      event_id=event_id, event_type=event_type, envelope=envelope, error_class=error_class,
                      error_message=error_message, attempts=attempts, parked_at=now, state=ParkedState.PARKED.value)
        result = await self._conn.execute(insert(parked_events).values(**values).returning(parked_events.c.id))
        return self._entity({"id": result.scalar_one(), **values, "replayed_at": None, "replayed_by": None,
                             "replay_request_id": None})

    async def get(self, row_id: int) -> ParkedEvent | None:
        row = (await self._conn.execute(select(parked_events).where(parked_events.c.id == row_id))).first()
        return self._entity(row._mapping) if row else None

    async def list(self, state: ParkedState | None, after: int, limit: int) -> list[ParkedEvent]:
        query = select(parked_events).where(parked_events.c.id > after).order_by(parked_events.c.id).limit(limit)
        if state is not None:
            query = query.where(parked_events.c.state == state.value)
        return [self._entity(r._mapping) for r in await self._conn.execute(query)]

    async def count(self, state: ParkedState = ParkedState.PARKED) -> int:
        from sqlalchemy import func

        return (await self._conn.execute(select(func.count()).select_from(parked_events)
                                         .where(parked_events.c.state == state.value))).scalar_one()

    async def claim_for_replay(self, event: ParkedEvent, actor: Actor, now: datetime) -> bool:
        """parked -> replayed, only if still parked: of two concurrent replays one wins (row lock / writer lock)."""
        result = await self._conn.execute(
            update(parked_events)
            .where(parked_events.c.id == event.id, parked_events.c.state == ParkedState.PARKED.value)
            .values(state=ParkedState.REPLAYED.value, replayed_at=now, replayed_by=escaped(actor.subject, 128),
                    replay_request_id=actor.request_id[:128]))
        if result.rowcount != 1:
            return False
        event.state, event.replayed_at = ParkedState.REPLAYED, now
        event.replayed_by, event.replay_request_id = escaped(actor.subject, 128), actor.request_id[:128]
        return True

    async def record_failure(self, event: ParkedEvent) -> None:
        await self._conn.execute(
            update(parked_events).where(parked_events.c.id == event.id)
            .values(error_class=event.error_class, error_message=event.error_message, attempts=event.attempts))

    def _entity(self, row) -> ParkedEvent:
        return ParkedEvent(
            id=row["id"], service=self._service, consumer=row["consumer"], topic=row["topic"],
            partition=row["kafka_partition"], offset=row["kafka_offset"], event_id=row["event_id"],
            event_type=row["event_type"], envelope=bytes(row["envelope"]), error_class=row["error_class"],
            error_message=row["error_message"], attempts=row["attempts"], parked_at=aware(row["parked_at"]),
            state=ParkedState(row["state"]), replayed_at=aware(row["replayed_at"]), replayed_by=row["replayed_by"],
            replay_request_id=row["replay_request_id"])


# ----------------------------------------------------------------------------------- replay

class ReplayOutcome(enum.Enum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"
    FAILED = "failed"


REPLAY = "ReplayParkedEvent"


async def replay(*, uow_factory, bus, translators: dict, service: str, actor: Actor,
                 row_id: int) -> tuple[ReplayOutcome, ParkedEvent]:
    """Apply a parked event again through the consumer's translator and the service's bus.

    One unit of work holds the effect and the parked -> replayed change (audited under ``actor``);
    the event is already in the inbox (recorded when it was parked), so nothing else applies it. A
    replay that fails leaves it parked, with the new error and one more attempt recorded.
    """
    async def attempt():
        uow = uow_factory()
        async with uow:
            store = uow.parked_events(service)
            event = await store.get(row_id)
            if event is None:
                raise NotFound(f"no such parked event in the {service} service")
            if event.state is ParkedState.REPLAYED:
                # The same request asked again gets the first answer; any other learns it was done.
                same = actor.request_id and event.replay_request_id == actor.request_id
                return (ReplayOutcome.APPLIED if same else ReplayOutcome.ALREADY_APPLIED), event, []
            with uow.acting(actor, REPLAY):
                uow.track(event)
                if not await store.claim_for_replay(event, actor, utcnow()):
                    return ReplayOutcome.ALREADY_APPLIED, await store.get(row_id), []
                envelope = events_pb2.EventEnvelope.FromString(event.envelope)
                translate = translators.get(envelope.event_type)
                command = translate(envelope) if translate is not None else None
                if command is not None:
                    await bus.handle(command, uow=uow)
                await uow.commit()
        return ReplayOutcome.APPLIED, event, uow.collect_new_events()

    try:
        outcome, event, events = await with_retries(attempt)
    except NotFound:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded on the parked event and reported
        if is_transient(exc):
            raise
        failed = await with_retries(lambda error=exc: _record_failure(uow_factory, service, row_id, error))
        log.warning("replay of parked event %s failed again (%s); it stays parked",
                    public_id(service, row_id), type(exc).__name__)
        return ReplayOutcome.FAILED, failed
    await bus.dispatch(events)
    if outcome is ReplayOutcome.APPLIED:
        log.info("parked event %s replayed by %s", event.public_id, actor)
    return outcome, event


async def _record_failure(uow_factory, service: str, row_id: int, exc: BaseException) -> ParkedEvent:
    uow = uow_factory()
    async with uow:
        store = uow.parked_events(service)
        event = await store.get(row_id)
        event.failed_again(exc)
        await store.record_failure(event)
        await uow.commit()
    return event
