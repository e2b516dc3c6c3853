"""Outbox relay and inbox consumer against a real Kafka-protocol broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from sqlalchemy import func, select, text

from skillpay.cli.broker import EmbeddedBroker
from skillpay.db import Database, run_migrations
from skillpay.events.v1 import events_pb2
from skillpay.kafka import InboxConsumer, OutboxRelay
from skillpay.messaging import OutgoingEvent, consumer_positions, inbox, outbox
from skillpay.actors import ActorKind, service_actor
from skillpay.messagebus import Command, MessageBus
from skillpay.uow import SqlUnitOfWork

pytestmark = pytest.mark.integration
# Any service's migrations create the messaging tables; the claim service's are the smallest.
MIGRATIONS = Path(__file__).resolve().parents[2] / "claim_svc" / "migrations"


@pytest.fixture
async def db(database_url_factory):
    url = database_url_factory("msg")
    await asyncio.to_thread(run_migrations, url, MIGRATIONS)
    database = Database(url)
    yield database
    await database.dispose()


def _uow_factory(db):
    return functools.partial(SqlUnitOfWork, db, "test", lambda e: [])


@dataclass(frozen=True, kw_only=True)
class Apply(Command):
    """The one command of these tests: apply an event with the test's handler."""

    envelope: object


def _consumer(db, bootstrap: str, name: str, topics: list[str], handlers: dict, **kwargs) -> InboxConsumer:
    """An InboxConsumer whose bus runs the given raw handlers, each in the handler's unit of work."""
    async def apply(cmd: Apply, uow):
        async with uow:
            await handlers[cmd.envelope.event_type](cmd.envelope, uow)
            await uow.commit()

    bus = MessageBus(_uow_factory(db), {Apply: apply}, {"Apply": frozenset({ActorKind.SERVICE})})
    translators = {t: (lambda env: Apply(actor=service_actor("test"), envelope=env)) for t in handlers}
    return InboxConsumer(db, _uow_factory(db), bus, bootstrap, name, topics, translators, **kwargs)


async def _write_events(db, topic: str, n: int) -> list[str]:
    ids = []
    async with _uow_factory(db)() as uow:
        for i in range(n):
            event = OutgoingEvent(topic, "payment.settled", f"agg-{i % 5}",
                                  events_pb2.PaymentSettled(payment_id=f"p{i}", amount_fen=i + 1))
            await uow.add_event(event)
            ids.append(event.event_id)
        await uow.commit()
    return ids


async def _read_topic(bootstrap: str, topic: str, expect: int, timeout_s: float = 20) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(got) < expect and asyncio.get_running_loop().time() < deadline:
            for messages in (await consumer.getmany(timeout_ms=300)).values():
                got += messages
    finally:
        await consumer.stop()
    return got


async def _until(predicate, timeout_s: float = 20):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def test_relay_publishes_outbox_in_order_keyed_by_aggregate(db, broker):
    topic = f"t.{uuid.uuid4().hex}"
    ids = await _write_events(db, topic, 12)
    relay = OutboxRelay(db, broker.bootstrap, [topic], partitions=3, poll_interval_s=0.05)
    task = asyncio.create_task(relay.run())
    try:
        messages = await _read_topic(broker.bootstrap, topic, 12)
    finally:
        await relay.stop()
        await task
    envelopes = [events_pb2.EventEnvelope.FromString(m.value) for m in messages]
    assert sorted(e.event_id for e in envelopes) == sorted(ids)
    for m, e in zip(messages, envelopes):
        assert m.key.decode() == e.aggregate_id  # keyed by aggregate id
        assert dict(m.headers)["event_type"] == b"payment.settled"
    # Per aggregate, order is the outbox order.
    for agg in {e.aggregate_id for e in envelopes}:
        seq = [ids.index(e.event_id) for e in envelopes if e.aggregate_id == agg]
        assert seq == sorted(seq)
    async with db.reader.connect() as conn:
        unpublished = (await conn.execute(select(func.count()).where(outbox.c.published_at.is_(None)))).scalar()
    assert unpublished == 0


async def test_relay_publishes_again_what_a_restarted_broker_lost(db, tmp_path):
    own = EmbeddedBroker(log_path=tmp_path / "b.log").start()
    topic = f"t.{uuid.uuid4().hex}"
    try:
        ids = await _write_events(db, topic, 6)
        relay = OutboxRelay(db, own.bootstrap, [topic], partitions=3, poll_interval_s=0.05, check_interval_s=0.2)
        task = asyncio.create_task(relay.run())
        assert len(await _read_topic(own.bootstrap, topic, 6)) == 6
        own.restart()  # memory storage: every message is gone
        more = await _write_events(db, topic, 2)
        messages = await _read_topic(own.bootstrap, topic, 8, timeout_s=30)
        await relay.stop()
        await task
    finally:
        own.stop()
    seen = {events_pb2.EventEnvelope.FromString(m.value).event_id for m in messages}
    assert seen == set(ids + more)
    assert relay.republished >= 6


async def test_consumer_applies_each_event_once_even_when_delivered_twice(db, broker):
    topic = f"t.{uuid.uuid4().hex}"
    ids = await _write_events(db, topic, 5)
    applied: list[str] = []

    async def handler(envelope, uow):
        applied.append(envelope.event_id)

    relay = OutboxRelay(db, broker.bootstrap, [topic], partitions=3, poll_interval_s=0.05)
    consumer = _consumer(db, broker.bootstrap, f"g-{uuid.uuid4().hex}", [topic],
                             {"payment.settled": handler}, partitions=3)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        async def all_applied():
            return len(applied) >= 5
        await _until(all_applied)
        # Deliver everything a second time: mark the outbox unpublished so the relay sends it again.
        async with db.writer.begin() as conn:
            from sqlalchemy import update
            await conn.execute(update(outbox).values(published_at=None, kafka_partition=None, kafka_offset=None))
        relay.wake()

        async def duplicates_seen():
            return consumer.duplicates >= 5
        await _until(duplicates_seen)
    finally:
        await consumer.stop()
        await relay.stop()
        await asyncio.gather(*tasks)
    assert sorted(applied) == sorted(ids)
    async with db.reader.connect() as conn:
        recorded = (await conn.execute(select(func.count()).select_from(inbox))).scalar()
    assert recorded == 5


async def test_handler_failure_rolls_back_and_the_event_is_retried(db, broker):
    topic = f"t.{uuid.uuid4().hex}"
    await _write_events(db, topic, 1)
    calls = []

    async def flaky(envelope, uow):
        calls.append(envelope.event_id)
        if len(calls) == 1:
            raise RuntimeError("crash inside the handler")

    relay = OutboxRelay(db, broker.bootstrap, [topic], partitions=3, poll_interval_s=0.05)
    consumer = _consumer(db, broker.bootstrap, f"g-{uuid.uuid4().hex}", [topic],
                             {"payment.settled": flaky}, partitions=3)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        async def applied():
            return consumer.applied == 1
        await _until(applied, 30)
    finally:
        await consumer.stop()
        await relay.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert len(calls) == 2 and calls[0] == calls[1]


async def _consumer_positions(db, group: str) -> dict[tuple[str, int], int]:
    async with db.reader.connect() as conn:
        rows = await conn.execute(select(consumer_positions).where(consumer_positions.c.consumer == group))
        return {(r.topic, r.partition): r.next_offset for r in rows}


async def test_consumer_resumes_from_its_stored_positions_after_a_restart(db, broker):
    topic = f"t.{uuid.uuid4().hex}"
    group = f"g-{uuid.uuid4().hex}"
    first = await _write_events(db, topic, 6)
    applied: list[str] = []

    async def handler(envelope, uow):
        applied.append(envelope.event_id)

    relay = OutboxRelay(db, broker.bootstrap, [topic], partitions=3, poll_interval_s=0.05)
    relay_task = asyncio.create_task(relay.run())
    try:
        consumer = _consumer(db, broker.bootstrap, group, [topic], {"payment.settled": handler},
                                 partitions=3)
        task = asyncio.create_task(consumer.run())
        await _until(lambda: _ready(len(applied) >= 6))
        await consumer.stop()
        await task
        positions = await _consumer_positions(db, group)
        # Positions moved with each applied event, in our own database.
        assert sum(positions.values()) >= 6 and {t for t, _ in positions} == {topic}

        second = await _write_events(db, topic, 3)
        again = _consumer(db, broker.bootstrap, group, [topic], {"payment.settled": handler},
                              partitions=3)
        task = asyncio.create_task(again.run())
        await _until(lambda: _ready(len(applied) >= 9))
        await asyncio.sleep(1.5)  # past a marker check: the same broker is not taken for a new one
        await again.stop()
        await task
    finally:
        await relay.stop()
        await relay_task
    assert sorted(applied) == sorted(first + second)
    assert again.duplicates == 0 and again.epochs == 0  # nothing read twice: it resumed where it stopped


@pytest.mark.parametrize("assignment", ["all", "group"])
async def test_consumer_reads_again_from_the_start_when_the_broker_lost_its_data(db, tmp_path, assignment):
    """A fresh broker serves nothing at a stale offset; the consumer must notice and start over."""
    own = EmbeddedBroker(log_path=tmp_path / "b.log").start()
    topic = f"t.{uuid.uuid4().hex}"
    group = f"g-{uuid.uuid4().hex}"
    applied: list[str] = []

    async def handler(envelope, uow):
        applied.append(envelope.event_id)

    relay = OutboxRelay(db, own.bootstrap, [topic], partitions=3, poll_interval_s=0.05, check_interval_s=0.2)
    consumer = _consumer(db, own.bootstrap, group, [topic], {"payment.settled": handler},
                             partitions=3, check_interval_s=0.2, assignment=assignment)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        first = await _write_events(db, topic, 20)

        async def all_committed() -> bool:  # the handler runs before its batch commits
            return sum((await _consumer_positions(db, group)).values()) >= 20
        await _until(all_committed)
        stale = await _consumer_positions(db, group)
        own.restart()  # memory storage: messages, topics and markers are gone
        # The relay publishes the history again and then these: the stale positions point into the
        # middle of the republished history, past events a consumer that trusts them never reads.
        second = await _write_events(db, topic, 3)
        # A consumer group takes a few rejoins (seconds each on tansu) to settle on the new broker.
        await _until(lambda: _ready(len(applied) >= 23), timeout_s=90)
        await _until(lambda: _ready(consumer.duplicates >= 20), timeout_s=90)  # the republished history
    finally:
        await consumer.stop()
        await relay.stop()
        await asyncio.gather(*tasks)
        own.stop()
    assert sorted(applied) == sorted(first + second)  # each applied once
    assert consumer.epochs == 2  # the first broker, then the fresh one
    assert sum(stale.values()) >= 20


async def _ready(value: bool) -> bool:
    return value


async def test_replicas_in_a_consumer_group_share_the_partitions_and_apply_each_event_once(db, broker):
    topic = f"t.{uuid.uuid4().hex}"
    name = f"g-{uuid.uuid4().hex}"
    relay = OutboxRelay(db, broker.bootstrap, [topic], partitions=3, poll_interval_s=0.05)
    replicas = [_consumer(db, broker.bootstrap, name, [topic], {}, partitions=3,
                              assignment="group") for _ in range(2)]
    tasks = [asyncio.create_task(relay.run())] + [asyncio.create_task(r.run()) for r in replicas]
    try:
        # Both members hold partitions, and together all three.
        await _until(lambda: _ready(all(r.assigned for r in replicas)
                                    and len(replicas[0].assigned | replicas[1].assigned) == 3), timeout_s=90)
        assert not replicas[0].assigned & replicas[1].assigned
        ids = await _write_events(db, topic, 30)
        await _until(lambda: _ready(sum(r.applied for r in replicas) >= 30), timeout_s=90)
        await asyncio.sleep(1)
    finally:
        for r in replicas:
            await r.stop()
        await relay.stop()
        await asyncio.gather(*tasks)
    assert sum(r.applied for r in replicas) == 30  # committed applications, across both replicas
    assert all(r.applied > 0 for r in replicas)
    async with db.reader.connect() as conn:
        recorded = set((await conn.execute(select(inbox.c.event_id).where(inbox.c.consumer == name))).scalars())
    assert recorded == set(ids)
    positions = await _consumer_positions(db, name)
    assert len(positions) == 3 and all(offset > 0 for offset in positions.values())
    # The group's offsets are committed as well, for Kafka's lag tools; our positions are what counts.
    probe = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=name, enable_auto_commit=False)
    await probe.start()
    try:
        committed = {p: await probe.committed(TopicPartition(topic, p)) for p in range(3)}
    finally:
        await probe.stop()
    assert committed == {p: positions[(topic, p)] for p in range(3)}


async def _rename_table(db, old: str, new: str) -> None:
    async with db.writer.begin() as conn:
        await conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


async def test_relay_and_consumer_outlive_database_errors_and_lose_nothing(db, broker):
    """A database error (here: tables briefly gone) makes them start over, not stop for good."""
    topic = f"t.{uuid.uuid4().hex}"
    name = f"g-{uuid.uuid4().hex}"
    await _rename_table(db, "outbox", "outbox_away")
    await _rename_table(db, "consumer_positions", "consumer_positions_away")
    relay = OutboxRelay(db, broker.bootstrap, [topic], partitions=3, poll_interval_s=0.05)
    consumer = _consumer(db, broker.bootstrap, name, [topic], {}, partitions=3)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        await asyncio.sleep(3)  # both fail meanwhile, and keep trying
        assert not any(t.done() for t in tasks)
        await _rename_table(db, "outbox_away", "outbox")
        await _rename_table(db, "consumer_positions_away", "consumer_positions")
        ids = await _write_events(db, topic, 5)
        await _until(lambda: _ready(consumer.applied >= 5), timeout_s=30)
    finally:
        await consumer.stop()
        await relay.stop()
        await asyncio.gather(*tasks)
    async with db.reader.connect() as conn:
        recorded = set((await conn.execute(select(inbox.c.event_id).where(inbox.c.consumer == name))).scalars())
    assert recorded == set(ids)


async def test_an_event_that_keeps_failing_holds_only_its_own_partition(db, broker):
    topic = f"t.{uuid.uuid4().hex}"
    ids = await _write_events(db, topic, 12)  # five aggregates: spread over the three partitions
    bad = ids[0]
    failing = [True]
    applied: list[str] = []

    async def handler(envelope, uow):
        if envelope.event_id == bad and failing[0]:
            raise RuntimeError("cannot apply this one yet")
        applied.append(envelope.event_id)

    relay = OutboxRelay(db, broker.bootstrap, [topic], partitions=3, poll_interval_s=0.05)
    # Never parked here (see test_dead_letters.py for that): this is about holding one partition only.
    consumer = _consumer(db, broker.bootstrap, f"g-{uuid.uuid4().hex}", [topic], {"payment.settled": handler},
                         partitions=3, max_attempts=1000)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        async def published() -> bool:
            async with db.reader.connect() as conn:
                rows = (await conn.execute(select(outbox.c.event_id, outbox.c.kafka_partition)
                                           .where(outbox.c.published_at.is_not(None)))).all()
            return len(rows) == 12
        await _until(published)
        async with db.reader.connect() as conn:
            partition = {r.event_id: r.kafka_partition for r in await conn.execute(
                select(outbox.c.event_id, outbox.c.kafka_partition))}
        elsewhere = {i for i in ids if partition[i] != partition[bad]}
        assert elsewhere, "the test needs events in another partition"
        # While the bad event fails, every event of the other partitions is applied and committed.
        async def others_applied() -> bool:
            return elsewhere <= set(applied) and consumer.applied >= len(elsewhere)
        await _until(others_applied, 30)
        assert bad not in applied
        failing[0] = False  # fixed: the held partition goes on from the event that failed
        await _until(lambda: _ready(set(ids) <= set(applied)), 60)
    finally:
        await consumer.stop()
        await relay.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert consumer.fallbacks >= 1
    assert sorted(set(applied)) == sorted(ids)
