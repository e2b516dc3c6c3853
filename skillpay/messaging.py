"""Tables and stores for reliable messaging, present in every service's database.

- ``outbox``: events written in the same transaction as the state change that caused them; the
  relay publishes them and records where they landed (partition, offset).
- ``inbox``: event ids a consumer has applied, written in the same transaction as the effect.
- ``idempotency_keys``: the first response to each mutating request id (AIP-155 style).
- ``parked_events``: events a consumer could not apply after its bounded retries (dead letters),
  kept with their envelope and error until an operator replays them (see skillpay.dead_letters).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    update,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from skillpay import tracing
from skillpay.clock import utcnow
from skillpay.events.v1 import events_pb2

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


def add_messaging_tables(metadata: MetaData) -> tuple[Table, Table, Table, Table]:
    """Defines outbox, inbox, consumer_positions and idempotency_keys on ``metadata``.

    Each service's tables.py calls this so its one MetaData describes its whole database (what
    its migrations build); the migrations themselves spell these tables out as frozen text.
    """
    outbox = Table(
        "outbox",
        metadata,
        Column("id", _BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("aggregate_id", String(100), nullable=False),
        Column("envelope", LargeBinary, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True)),
        Column("kafka_partition", Integer),
        Column("kafka_offset", BigInteger),
        # The broker incarnation the row was published to (see skillpay.kafka.OutboxRelay).
        Column("broker_epoch", String(36)),
        Index("ix_outbox_unpublished", "published_at", "id"),
    )

    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )

    # Where each consumer has read up to, per topic partition. Kept here, in the same transaction
    # as the effect and the inbox row, rather than as offsets committed to the broker: a broker
    # that loses its data loses committed offsets too, and a restarted broker silently serves
    # nothing at a stale offset. Our own record survives, and is reset when the broker is new.
    consumer_positions = Table(
        "consumer_positions",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("topic", String(200), primary_key=True),
        Column("partition", Integer, primary_key=True),
        Column("next_offset", BigInteger, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )

    idempotency_keys = Table(
        "idempotency_keys",
        metadata,
        Column("request_id", String(200), primary_key=True),
        Column("method", String(200), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("response", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    return outbox, inbox, consumer_positions, idempotency_keys


def add_parked_events_table(metadata: MetaData) -> Table:
    """Defines ``parked_events`` on ``metadata`` (each service's tables.py calls it; migrations spell it out)."""
    return Table(
        "parked_events",
        metadata,
        Column("id", _BigId, primary_key=True, autoincrement=True),
        Column("consumer", String(100), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("kafka_partition", Integer, nullable=False),
        Column("kafka_offset", BigInteger, nullable=False),
        # "" when the envelope did not parse (or its id is not one an inbox can hold).
        Column("event_id", String(36), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("envelope", LargeBinary, nullable=False),
        Column("error_class", String(100), nullable=False),
        Column("error_message", String(500), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("parked_at", DateTime(timezone=True), nullable=False),
        # parked -> replayed (applied by an operator's replay); a failed replay stays parked.
        Column("state", String(16), nullable=False),
        Column("replayed_at", DateTime(timezone=True)),
        Column("replayed_by", String(128)),
        Column("replay_request_id", String(128)),
        Index("ix_parked_events_state", "state", "id"),
    )


# Module-level copies for the stores below and skillpay.kafka; the names and columns are the same
# as in every service's metadata, so statements built on either work on any service database.
metadata = MetaData()
outbox, inbox, consumer_positions, idempotency_keys = add_messaging_tables(metadata)
parked_events = add_parked_events_table(metadata)


@dataclass(frozen=True)
class OutgoingEvent:
    topic: str
    event_type: str
    aggregate_id: str
    payload: Message
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=utcnow)


def to_timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def envelope_for(event: OutgoingEvent, producer: str) -> events_pb2.EventEnvelope:
    return events_pb2.EventEnvelope(
        event_id=event.event_id,
        event_type=event.event_type,
        aggregate_id=event.aggregate_id,
        occurred_at=to_timestamp(event.occurred_at),
        producer=producer,
        payload=event.payload.SerializeToString(),
        trace_context=tracing.event_trace_context(event.event_type, event.topic, event.event_id, event.aggregate_id),
    )


class OutboxWriter:
    def __init__(self, conn: AsyncConnection, producer: str):
        self._conn = conn
        self._producer = producer

    async def add(self, event: OutgoingEvent) -> None:
        await self._conn.execute(
            insert(outbox).values(
                event_id=event.event_id,
                topic=event.topic,
                event_type=event.event_type,
                aggregate_id=event.aggregate_id,
                envelope=envelope_for(event, self._producer).SerializeToString(),
                occurred_at=event.occurred_at,
            )
        )


class Inbox:
    def __init__(self, conn: AsyncConnection, consumer: str):
        self._conn = conn
        self._consumer = consumer

    async def seen(self, event_id: str) -> bool:
        row = await self._conn.execute(
            select(inbox.c.event_id).where(inbox.c.consumer == self._consumer, inbox.c.event_id == event_id)
        )
        return row.first() is not None

    async def record(self, event_id: str, event_type: str) -> None:
        await self._conn.execute(
            insert(inbox).values(consumer=self._consumer, event_id=event_id, event_type=event_type, processed_at=utcnow())
        )

    async def advance(self, topic: str, partition: int, next_offset: int) -> None:
        """Move this consumer's position, in the transaction that applied the message."""
        key = ((consumer_positions.c.consumer == self._consumer) & (consumer_positions.c.topic == topic)
               & (consumer_positions.c.partition == partition))
        result = await self._conn.execute(
            update(consumer_positions).where(key).values(next_offset=next_offset, updated_at=utcnow()))
        if result.rowcount == 0:
            await self._conn.execute(insert(consumer_positions).values(
                consumer=self._consumer, topic=topic, partition=partition, next_offset=next_offset,
                updated_at=utcnow()))


@dataclass(frozen=True)
class StoredResponse:
    method: str
    fingerprint: str
    response: bytes


class IdempotencyStore:
    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def get(self, request_id: str) -> StoredResponse | None:
        row = (
            await self._conn.execute(
                select(idempotency_keys.c.method, idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
                    idempotency_keys.c.request_id == request_id
                )
            )
        ).first()
        return StoredResponse(row.method, row.fingerprint, row.response) if row else None

    async def put(self, request_id: str, method: str, fingerprint: str, response: bytes) -> None:
        await self._conn.execute(
            insert(idempotency_keys).values(
                request_id=request_id, method=method, fingerprint=fingerprint, response=response, created_at=utcnow()
            )
        )
