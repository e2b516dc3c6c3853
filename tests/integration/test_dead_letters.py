"""Events that cannot be applied, against a real broker on SQLite and PostgreSQL.

A poison event is retried a bounded number of times, parked (dead-letter row and topic) and the
consumer goes on; an operator lists it through ``skillpay.ops.v1.Operations`` and replays it once
the cause is fixed, exactly once. A transient failure (the database unavailable) is never parked.
A stopped broker does not flood the logs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from skillpay.actors import Actor, ActorKind, current_actor, service_actor
from skillpay.audit_trail import audit_records
from skillpay.cli.broker import EmbeddedBroker
from skillpay.db import Database, run_migrations
from skillpay.errors import FailedPrecondition
from skillpay.events.v1 import events_pb2
from skillpay.kafka import InboxConsumer, OutboxRelay
from skillpay.messagebus import Command, MessageBus
from skillpay.messaging import OutgoingEvent, inbox, parked_events
from skillpay.operations import OperationsServicer
from skillpay.ops.v1 import ops_pb2
from skillpay.uow import SqlUnitOfWork

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "claim_svc" / "migrations"
PERMISSIONS = {"Apply": frozenset({ActorKind.SERVICE}), "ListParkedEvents": frozenset({ActorKind.ADMIN}),
               "ReplayParkedEvent": frozenset({ActorKind.ADMIN})}


@pytest.fixture
async def db(database_url_factory):
    url = database_url_factory("dlq")
    await asyncio.to_thread(run_migrations, url, MIGRATIONS)
    database = Database(url)
    yield database
    await database.dispose()


@dataclass(frozen=True, kw_only=True)
class Apply(Command):
    envelope: object


class World:
    """A consumer whose handler the test controls, its bus, translators and the operations servicer."""

    def __init__(self, db, bootstrap: str, topic: str, handler, **consumer_options):
        self.uow_factory = functools.partial(SqlUnitOfWork, db, "test", lambda e: [])

        async def apply(cmd: Apply, uow):
            async with uow:
                await handler(cmd.envelope)
                await uow.commit()

        self.bus = MessageBus(self.uow_factory, {Apply: apply}, PERMISSIONS)
        self.translators = {"payment.settled": lambda env: Apply(actor=service_actor("test"), envelope=env)}
        self.consumer = InboxConsumer(db, self.uow_factory, self.bus, bootstrap, f"g-{uuid.uuid4().hex}",
                                      [topic], self.translators, partitions=3, **consumer_options)
        self.ops = OperationsServicer("test", self.bus, self.uow_factory, self.translators)


async def _write(db, topic: str, n: int, aggregate: str = "agg-1") -> list[str]:
    """n events on one aggregate, so on one partition, in this order."""
    ids = []
    async with SqlUnitOfWork(db, "test", lambda e: []) as uow:
        for i in range(n):
            event = OutgoingEvent(topic, "payment.settled", aggregate,
                                  events_pb2.PaymentSettled(payment_id=f"p{i}", amount_fen=i + 1))
            await uow.add_event(event)
            ids.append(event.event_id)
        await uow.commit()
    return ids


async def _until(predicate, timeout_s: float = 30):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def _as(kind: ActorKind, request_id: str = "") -> None:
    current_actor.set(Actor(kind, "ops-1").for_request(request_id) if request_id else Actor(kind, "ops-1"))


async def test_a_poison_event_is_parked_after_bounded_retries_and_replayed_once_after_the_fix(db, broker):
    topic = f"t.{uuid.uuid4().hex}"
    dead_letters = f"{topic}.deadletter"
    ids = await _write(db, topic, 5)
    bad = ids[1]
    broken = [True]
    applied: list[str] = []
    tried_bad = []

    async def handler(envelope):  # (a batch that fails rolls back, so this sees some events more than once)
        if envelope.event_id == bad:
            tried_bad.append(broken[0])
            if broken[0]:
                raise FailedPrecondition("X9: the claim this payment belongs to is unknown")
        applied.append(envelope.event_id)

    world = World(db, broker.bootstrap, topic, handler, max_attempts=3, retry_delay_s=0.05, retry_max_delay_s=0.2,
                  dead_letter_topic=dead_letters, service="test")
    relay = OutboxRelay(db, broker.bootstrap, [topic, dead_letters], partitions=3, poll_interval_s=0.05)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(world.consumer.run())]
    try:
        # The events after the poison one, on the same partition, are applied once it is parked.
        await _until(lambda: world.consumer.parked == 1 and world.consumer.applied == 4)
        assert set(applied) == {ids[0], *ids[2:]}
        dead = await _read_one(broker.bootstrap, dead_letters)
    finally:
        await world.consumer.stop()
        await relay.stop()
        await asyncio.gather(*tasks)
    assert len(tried_bad) >= 3 and all(tried_bad)  # each attempt, plus the batches it was part of

    # The dead-letter topic got it, through the outbox.
    envelope = events_pb2.EventEnvelope.FromString(dead.value)
    assert envelope.event_type == "event.parked"
    payload = ops_pb2.ParkedEvent.FromString(envelope.payload)
    assert (payload.event_id, payload.topic, payload.attempts, payload.parked_event_id) == (bad, topic, 3, "test-1")

    assert await world.consumer.parked_count() == 1
    # Listed to an admin, with the error; a reviewer may not look.
    _as(ActorKind.ADMIN)
    listed = await world.ops.ListParkedEvents(ops_pb2.ListParkedEventsRequest(), None)
    [parked] = listed.parked_events
    assert (parked.parked_event_id, parked.event_id, parked.event_type) == ("test-1", bad, "payment.settled")
    assert parked.state == ops_pb2.PARKED_EVENT_STATE_PARKED and parked.attempts == 3
    assert parked.error_class == "FailedPrecondition" and "X9" in parked.error_message
    assert events_pb2.EventEnvelope.FromString(parked.envelope).event_id == bad
    assert not (await world.ops.ListParkedEvents(
        ops_pb2.ListParkedEventsRequest(state=ops_pb2.PARKED_EVENT_STATE_REPLAYED), None)).parked_events
    _as(ActorKind.REVIEWER)
    with pytest.raises(Exception, match="may not"):
        await world.ops.ListParkedEvents(ops_pb2.ListParkedEventsRequest(), None)

    # Replayed before the fix: it fails again and stays parked with the new error.
    _as(ActorKind.ADMIN, "replay-0")
    again = await world.ops.ReplayParkedEvent(ops_pb2.ReplayParkedEventRequest(
        request_id="replay-0", parked_event_id="test-1"), None)
    assert again.outcome == ops_pb2.REPLAY_OUTCOME_FAILED
    assert again.parked_event.state == ops_pb2.PARKED_EVENT_STATE_PARKED and again.parked_event.attempts == 4

    # Fixed, replayed: applied exactly once; again: nothing more, reported as already applied.
    broken[0] = False
    _as(ActorKind.ADMIN, "replay-1")
    first = await world.ops.ReplayParkedEvent(ops_pb2.ReplayParkedEventRequest(
        request_id="replay-1", parked_event_id="test-1"), None)
    assert first.outcome == ops_pb2.REPLAY_OUTCOME_APPLIED
    assert first.parked_event.state == ops_pb2.PARKED_EVENT_STATE_REPLAYED
    assert first.parked_event.replayed_by == "ops-1"
    _as(ActorKind.ADMIN, "replay-2")
    second = await world.ops.ReplayParkedEvent(ops_pb2.ReplayParkedEventRequest(
        request_id="replay-2", parked_event_id="test-1"), None)
    assert second.outcome == ops_pb2.REPLAY_OUTCOME_ALREADY_APPLIED
    _as(ActorKind.ADMIN, "replay-1")  # the first request retried gets the first answer
    retried = await world.ops.ReplayParkedEvent(ops_pb2.ReplayParkedEventRequest(
        request_id="replay-1", parked_event_id="test-1"), None)
    assert retried.outcome == ops_pb2.REPLAY_OUTCOME_APPLIED
    assert tried_bad.count(False) == 1 and applied.count(bad) == 1  # applied once, by the first replay
    assert await world.consumer.parked_count() == 0

    async with db.reader.connect() as conn:
        trail = (await conn.execute(select(audit_records).where(audit_records.c.aggregate_id == "test-1"))).all()
        recorded = set((await conn.execute(select(inbox.c.event_id))).scalars())
    # The replay is the admin's, in the audit trail.
    assert [(r.actor_kind, r.actor_subject, r.command, r.request_id, r.state_before, r.state_after) for r in trail] == [
        ("admin", "ops-1", "ReplayParkedEvent", "replay-1", "parked", "replayed")]
    assert recorded == set(ids)


async def _read_one(bootstrap: str, topic: str, timeout_s: float = 20):
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                              enable_auto_commit=False)
    await reader.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            for messages in (await reader.getmany(timeout_ms=300)).values():
                return messages[0]
        raise AssertionError(f"nothing on {topic}")
    finally:
        await reader.stop()


async def test_an_envelope_that_does_not_parse_is_parked_and_the_partition_goes_on(db, broker):
    topic = f"t.{uuid.uuid4().hex}"
    applied: list[str] = []

    async def handler(envelope):
        applied.append(envelope.event_id)

    world = World(db, broker.bootstrap, topic, handler, max_attempts=2, retry_delay_s=0.05)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        from skillpay.kafka import ensure_topics

        await ensure_topics(broker.bootstrap, [topic], 3)
        good = events_pb2.EventEnvelope(event_id=str(uuid.uuid4()), event_type="payment.settled", producer="test")
        await producer.send_and_wait(topic, b"\xff\xfe not an envelope \x00", partition=0)
        await producer.send_and_wait(topic, good.SerializeToString(), partition=0)
    finally:
        await producer.stop()
    task = asyncio.create_task(world.consumer.run())
    try:
        await _until(lambda: world.consumer.parked == 1 and applied == [good.event_id])
    finally:
        await world.consumer.stop()
        await task
    async with db.reader.connect() as conn:
        [row] = (await conn.execute(select(parked_events))).all()
    assert (row.event_id, row.kafka_partition, row.kafka_offset, row.attempts) == ("", 0, 0, 2)
    assert row.error_class == "DecodeError" and row.envelope.startswith(b"\xff\xfe")


async def test_a_database_that_is_unavailable_is_retried_and_never_parked(db, broker, caplog):
    topic = f"t.{uuid.uuid4().hex}"
    ids = await _write(db, topic, 2)
    failures = [0]
    applied: list[str] = []

    async def handler(envelope):
        if envelope.event_id == ids[0] and failures[0] < 8:
            failures[0] += 1
            raise OperationalError("UPDATE claims", {}, Exception("server closed the connection unexpectedly"))
        applied.append(envelope.event_id)

    world = World(db, broker.bootstrap, topic, handler, max_attempts=2, retry_delay_s=0.02, retry_max_delay_s=0.1)
    relay = OutboxRelay(db, broker.bootstrap, [topic], partitions=3, poll_interval_s=0.05)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(world.consumer.run())]
    try:
        with caplog.at_level(logging.INFO, logger="skillpay.kafka"):
            await _until(lambda: applied == ids)
    finally:
        await world.consumer.stop()
        await relay.stop()
        await asyncio.gather(*tasks)
    assert failures[0] == 8 and world.consumer.parked == 0  # far more failures than max_attempts, none parked
    async with db.reader.connect() as conn:
        assert (await conn.execute(select(parked_events))).all() == []
    lines = [r.getMessage() for r in caplog.records if r.name == "skillpay.kafka"]
    assert sum("database unreachable" in m for m in lines) == 1, lines
    assert sum("database recovered" in m for m in lines) == 1, lines
    assert len(lines) <= 4, lines


async def test_a_stopped_broker_is_reported_once_not_once_per_attempt(db, tmp_path, caplog):
    own = EmbeddedBroker(log_path=tmp_path / "b.log").start()
    topic = f"t.{uuid.uuid4().hex}"
    applied: list[str] = []

    async def handler(envelope):
        applied.append(envelope.event_id)

    world = World(db, own.bootstrap, topic, handler)
    relay = OutboxRelay(db, own.bootstrap, [topic], partitions=3, poll_interval_s=0.05, check_interval_s=0.2)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(world.consumer.run())]
    try:
        await _write(db, topic, 1)
        await _until(lambda: len(applied) == 1)
        assert relay.broker_connected and world.consumer.broker_connected
        with caplog.at_level(logging.DEBUG):
            own.stop()
            await _write(db, topic, 1)  # the relay tries to publish it meanwhile
            # Noticed within a request timeout (10 s); then some more seconds of retrying.
            await _until(lambda: not relay.broker_connected and not world.consumer.broker_connected, 30)
            await asyncio.sleep(5)
            down = list(caplog.records)
            own.start()
            await _until(lambda: len(applied) == 2, 60)
            await _until(lambda: not relay.broker_outage.down and not world.consumer.broker_outage.down, 30)
    finally:
        await world.consumer.stop()
        await relay.stop()
        await asyncio.gather(*tasks)
        own.stop()
    ours = [r.getMessage() for r in down if r.name == "skillpay.kafka" and r.levelno >= logging.WARNING]
    library = [r for r in down if r.name.startswith("aiokafka") and r.levelno >= logging.WARNING]
    # One line each for the relay and the consumer (perhaps one more where a failure is no outage).
    assert 2 <= len(ours) <= 6, ours
    assert sum("relay" in m and "broker unreachable" in m for m in ours) == 1, ours
    assert sum("consumer" in m and "broker unreachable" in m for m in ours) == 1, ours
    assert len(library) <= 20, [r.getMessage() for r in library]
    recovered = [r.getMessage() for r in caplog.records if "recovered after" in r.getMessage()]
    assert any("relay" in m for m in recovered) and any("consumer" in m for m in recovered), recovered
