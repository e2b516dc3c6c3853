"""Kafka plumbing: topic set-up, the outbox relay, and inbox-guarded consumers.

The outbox is the durable record. The relay publishes unpublished rows in order with
``acks="all"``, keyed by aggregate id, and stamps each row with the broker *epoch* it went to.
The relay writes a message to a one-partition marker topic of its own; a broker that lost its
data (a restarted in-memory broker) has lost the marker too. Finding it empty, the relay starts a
new epoch and publishes again every row stamped with an older one.
Consumers keep their positions in their own database and a marker of their own on the broker;
finding it empty, they read every topic again from the start. They dedupe by event id in their
inbox, which makes the republishing harmless. (Offsets alone cannot tell a new broker: tansu
reports end offsets per batch, not per record, and serves nothing at a stale offset.)
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from sqlalchemy import select, update

from skillpay import tracing
from skillpay.actors import Actor, service_actor
from skillpay.clock import utcnow
from skillpay.db import Database, with_retries
from skillpay.dead_letters import DEAD_LETTER_EVENT, is_database_error, is_transient
from skillpay.events.v1 import events_pb2
from skillpay.logs import request_context
from skillpay.messaging import Inbox, OutgoingEvent, consumer_positions, outbox
from skillpay.outage import Outage, limit_library_logs

log = logging.getLogger(__name__)

VOUCHER_EVENTS = "skillpay.voucher.v1.events"
CLAIM_EVENTS = "skillpay.claim.v1.events"
LEDGER_EVENTS = "skillpay.ledger.v1.events"
ALL_TOPICS = (VOUCHER_EVENTS, CLAIM_EVENTS, LEDGER_EVENTS)


async def ensure_topics(bootstrap: str, topics: Sequence[str], partitions: int, replication: int = 1) -> None:
    """Create the topics if missing; an existing topic is fine."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(t, partitions, replication) for t in topics])
        for topic, code, message in getattr(response, "topic_errors", []):
            if code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS
                raise RuntimeError(f"creating topic {topic} failed: {code} {message}")
    finally:
        await admin.close()


async def _marker_missing(client: AIOKafkaConsumer, marker_topic: str,
                          ensure_topics_again: Callable[[], Awaitable[None]]) -> bool:
    """True when our one-partition marker topic holds nothing: a broker that lost our data.

    A restarted broker may not know the topic yet: topics are created and it is asked again. A
    broker we cannot reach raises again here, so an outage is never mistaken for lost data.
    """
    marker = TopicPartition(marker_topic, 0)
    try:
        end = (await client.end_offsets([marker]))[marker]
    except KafkaError:
        await ensure_topics_again()
        end = (await client.end_offsets([marker]))[marker]
    return end == 0


async def _stop_clients(*clients) -> None:
    """Stop Kafka clients on a connection that may be broken, without giving up on our task.

    aiokafka's consumer re-raises the CancelledError of its own fetch task from ``stop()`` when
    that task was sleeping after a connection error; that is not a cancellation of ours.
    """
    for client in clients:
        if client is None:
            continue
        try:
            await client.stop()
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise
        except Exception:  # noqa: BLE001 - best effort on a broken connection
            pass


def _report(exc: BaseException, broker: Outage, database: Outage, unexpected: str) -> None:
    """Log a failure of a relay or consumer loop once per outage, or in full when it is no outage."""
    if is_database_error(exc) and is_transient(exc):
        database.failed(exc)
    elif isinstance(exc, (KafkaError, OSError, asyncio.TimeoutError)) and not is_database_error(exc):
        broker.failed(exc)
    else:
        log.exception(unexpected)


class OutboxRelay:
    def __init__(self, db: Database, bootstrap: str, topics: Sequence[str], partitions: int,
                 poll_interval_s: float = 0.2, batch_size: int = 200, check_interval_s: float = 1.0,
                 producer_name: str = "relay", replication: int = 1):
        self._db = db
        self._bootstrap = bootstrap
        self._topics = list(topics)
        self._partitions = partitions
        self._poll = poll_interval_s
        self._batch = batch_size
        self._check_interval = check_interval_s
        self._marker = f"_skillpay.epoch.{producer_name}"
        self._replication = replication
        self._epoch: str | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.published = 0
        self.republished = 0
        # One log line per change of state, not per attempt (see skillpay.outage).
        limit_library_logs()
        self.broker_outage = Outage(log, f"relay {producer_name}: broker")
        self.database_outage = Outage(log, f"relay {producer_name}: database")
        self.broker_connected = False  # read by readiness and metrics

    def wake(self) -> None:
        """Called after a commit that wrote events, so they leave without waiting a poll."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            producer = probe = None
            try:
                await self._ensure_topics()
                producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, acks="all",
                                            enable_idempotence=False, request_timeout_ms=10_000,
                                            linger_ms=2)
                probe = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None,
                                         enable_auto_commit=False, request_timeout_ms=10_000)
                await producer.start()
                await probe.start()
                self.broker_connected = True  # until the loop fails; `finally` clears it
                await self._pump(producer, probe)
            except Exception as exc:  # noqa: BLE001 - e.g. the database busy for longer than its timeout
                # The outbox keeps every row until it is published: starting over loses nothing.
                _report(exc, self.broker_outage, self.database_outage, "relay: unexpected error; starting over in 1 s")
                await self._sleep(1.0)
            finally:
                self.broker_connected = False
                await _stop_clients(producer, probe)

    async def _ensure_topics(self) -> None:
        await ensure_topics(self._bootstrap, self._topics, self._partitions, self._replication)
        await ensure_topics(self._bootstrap, [self._marker], 1, self._replication)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        self._wake.clear()

    async def _pump(self, producer: AIOKafkaProducer, probe: AIOKafkaConsumer) -> None:
        loop = asyncio.get_running_loop()
        last_check = float("-inf")
        while not self._stopping.is_set():
            if loop.time() - last_check > self._check_interval:
                await self._check_epoch(producer, probe)
                last_check = loop.time()
                self.broker_outage.ok()
                self.broker_connected = True
            rows = await self._unpublished()
            self.database_outage.ok()
            if not rows:
                await self._sleep(self._poll)
                continue
            epoch = self._epoch
            futures = [
                await producer.send(r.topic, r.envelope, key=r.aggregate_id.encode(),
                                    headers=[("event_type", r.event_type.encode()), ("event_id", r.event_id.encode())])
                for r in rows
            ]
            results = await asyncio.gather(*futures)
            await with_retries(lambda: self._mark_published(rows, results, epoch))
            self.published += len(rows)

    async def _unpublished(self):
        async with self._db.reader.connect() as conn:
            result = await conn.execute(
                select(outbox.c.id, outbox.c.event_id, outbox.c.topic, outbox.c.event_type,
                       outbox.c.aggregate_id, outbox.c.envelope)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self._batch)
            )
            return result.all()

    async def _mark_published(self, rows, results, epoch: str) -> None:
        now = utcnow()
        async with self._db.writer.begin() as conn:
            for row, md in zip(rows, results):
                await conn.execute(
                    update(outbox).where(outbox.c.id == row.id)
                    .values(published_at=now, kafka_partition=md.partition, kafka_offset=md.offset,
                            broker_epoch=epoch)
                )

    async def _check_epoch(self, producer: AIOKafkaProducer, probe: AIOKafkaConsumer) -> None:
        """Start a new epoch, and publish again, when our marker is missing from the broker.

        Only this service's relays write the marker, so an empty marker means a broker that has
        lost (or never had) what we published. Rows are reset before the new marker is written:
        if anything fails in between, the marker is still missing and the next check redoes it.
        """
        if not await _marker_missing(probe, self._marker, self._ensure_topics):
            if self._epoch is None:
                # A restart of this process, same broker: carry on with the epoch on our rows.
                async with self._db.reader.connect() as conn:
                    self._epoch = (await conn.execute(
                        select(outbox.c.broker_epoch).where(outbox.c.broker_epoch.is_not(None))
                        .order_by(outbox.c.id.desc()).limit(1))).scalar() or str(uuid.uuid4())
            return
        epoch = str(uuid.uuid4())

        async def reset() -> int:
            async with self._db.writer.begin() as conn:
                result = await conn.execute(
                    update(outbox).where(outbox.c.published_at.is_not(None))
                    .values(published_at=None, kafka_partition=None, kafka_offset=None, broker_epoch=None))
                return result.rowcount

        count = await with_retries(reset)
        self._epoch = epoch
        await producer.send_and_wait(self._marker, epoch.encode(), partition=0)
        if count:
            self.republished += count
            log.warning("relay: the broker does not hold the %d events published before (new broker epoch); "
                        "publishing them again", count)


def actor_for_event(envelope: events_pb2.EventEnvelope) -> Actor:
    """Who acts when an event is applied: the service that produced it; the event id is the request id."""
    return service_actor(envelope.producer or "unknown").for_request(f"event:{envelope.event_id}")


# An entrypoint's translation of one event into the command that applies it (None: not for us).
Translator = Callable[[events_pb2.EventEnvelope], object | None]


class InboxConsumer:
    """Reads topics and applies each event exactly once for this consumer.

    The events of one poll (up to ``batch_size``) are translated into commands and handled by the
    service's message bus inside ONE unit of work, in partition order; the same transaction
    records each event id in the inbox and moves the consumer's positions
    (``consumer_positions``), so effects, dedupe records and positions are one commit. When a
    batch fails, its events are applied one at a time, so one bad event cannot hold the others
    back; one that keeps failing for a reason other than an outage is parked after
    ``max_attempts`` (see skillpay.dead_letters). Positions live in our database, not as offsets
    committed to the broker (a broker that lost its data would hold stale ones, or none).

    ``assignment="all"`` (one instance per service, the one-machine default) reads every
    partition; ``assignment="group"`` joins a consumer group named after the consumer, so that
    replicas share the partitions, and seeks each partition it is given to the stored position.

    A broker that lost its data is found the way the relay finds it, by a marker topic of this
    consumer's own being empty. Positions are then reset to the start and the client is made
    anew, so events the relays publish again are read even where they land below a stale
    position; the inbox drops those already applied.
    """

    def __init__(self, db: Database, uow_factory: Callable[[], object], bus, bootstrap: str, name: str,
                 topics: Sequence[str], translators: dict[str, Translator], partitions: int, replication: int = 1,
                 check_interval_s: float = 1.0, assignment: str = "all", batch_size: int = 100,
                 max_attempts: int = 5, retry_delay_s: float = 1.0, retry_max_delay_s: float = 30.0,
                 dead_letter_topic: str | None = None, service: str = ""):
        if assignment not in ("all", "group"):
            raise ValueError(f"assignment must be 'all' or 'group', not {assignment!r}")
        self._db = db
        self._assignment = assignment
        self._uow_factory = uow_factory
        self._bootstrap = bootstrap
        self._name = name
        self._topics = list(topics)
        self._bus = bus
        self._translators = translators
        self._batch_size = batch_size
        self._partitions = partitions
        self._replication = replication
        self._check_interval = check_interval_s
        self._marker = f"_skillpay.epoch.{name}"
        self._stopping = asyncio.Event()
        self.applied = 0
        self.duplicates = 0
        self.epochs = 0
        self.batches = 0
        self.fallbacks = 0  # batches that failed and were applied one event at a time
        self.assigned: frozenset[TopicPartition] = frozenset()  # partitions this instance reads now
        # Poison events: tried max_attempts times, the waits doubling from retry_delay_s, then parked.
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay_s
        self._retry_max_delay = retry_max_delay_s
        self._dead_letter_topic = dead_letter_topic
        self._service = service  # names parked events ("claim-3")
        self._attempts: dict[tuple[str, int, int], int] = {}  # (topic, partition, offset) -> failures so far
        self.parked = 0  # events this instance parked
        self.retries = 0  # failed attempts at single events, transient or not
        limit_library_logs()
        self.broker_outage = Outage(log, f"consumer {name}: broker")
        self.database_outage = Outage(log, f"consumer {name}: database")
        self.broker_connected = False  # read by readiness and metrics
        self._client: AIOKafkaConsumer | None = None  # while connected: lag() asks it for end offsets

    async def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            consumer = producer = None
            try:
                await self._ensure_topics()
                grouped = self._assignment == "group"
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self._bootstrap, group_id=self._name if grouped else None,
                    enable_auto_commit=False, auto_offset_reset="earliest", request_timeout_ms=10_000,
                    metadata_max_age_ms=5_000, session_timeout_ms=10_000, heartbeat_interval_ms=1_000,
                )
                producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, acks="all",
                                            enable_idempotence=False, request_timeout_ms=10_000)
                await consumer.start()
                await producer.start()
                await self._check_epoch(consumer, producer)
                self.broker_outage.ok()
                self.broker_connected = True
                await self._assign(consumer)
                self.database_outage.ok()
                self._client = consumer
                await self._consume(consumer, producer)
            except _NewBroker:
                log.warning("consumer %s: the broker lost its data; reading every topic again from the start",
                            self._name)
            except Exception as exc:  # noqa: BLE001 - e.g. the database busy for longer than its timeout
                # Positions are in the database: starting over resumes exactly where we were.
                _report(exc, self.broker_outage, self.database_outage,
                        f"consumer {self._name}: unexpected error; starting over in 1 s")
                await asyncio.sleep(1.0)
            finally:
                self._client, self.broker_connected = None, False
                await _stop_clients(consumer, producer)

    async def _ensure_topics(self) -> None:
        await ensure_topics(self._bootstrap, self._topics, self._partitions, self._replication)
        await ensure_topics(self._bootstrap, [self._marker], 1, self._replication)

    async def _assign(self, consumer: AIOKafkaConsumer) -> None:
        if self._assignment == "group":
            consumer.subscribe(self._topics, listener=_SeekToStoredPositions(consumer, self))
            return
        await consumer.topics()  # loads metadata for every topic
        assignment = []
        for topic in self._topics:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                raise KafkaError(f"no metadata for {topic}")
            assignment += [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assignment)
        self.assigned = frozenset(assignment)
        positions = await with_retries(self.stored_positions)
        for tp in assignment:
            consumer.seek(tp, positions.get((tp.topic, tp.partition), 0))

    async def parked_count(self) -> int:
        """Events parked and not yet replayed, in this service's database (for readiness and metrics)."""
        from skillpay.dead_letters import ParkedEventStore

        async with self._db.reader.connect() as conn:
            return await ParkedEventStore(conn).count()

    # No fetch answer on any partition being read for this long: the broker is taken as unreachable.
    FETCH_SILENCE_S = 5.0

    async def lag(self) -> dict[TopicPartition, int]:
        """Per partition read here: the high watermark of our last fetch minus our stored position.

        Passive: asks the broker nothing (a probe's own requests could reach a restarted broker
        before our topics are made again there). Raises KafkaError while disconnected, or when no
        fetch has answered for FETCH_SILENCE_S. tansu reports offsets per batch, so there lag can
        read up to one producer batch low; never below zero.
        """
        client = self._client
        if client is None or not self.broker_connected:
            raise KafkaError("not connected")
        positions = await self.stored_positions()
        paused = client.paused()
        lag: dict[TopicPartition, int] = {}
        last_answer = 0
        for tp in sorted(self.assigned):
            try:
                high = client.highwater(tp)
                polled = client.last_poll_timestamp(tp) if tp not in paused else None
            except AssertionError:  # no longer assigned (a rebalance under way)
                continue
            if high is not None:
                lag[tp] = max(0, high - positions.get((tp.topic, tp.partition), 0))
            last_answer = max(last_answer, polled or 0)
        if last_answer and time.time() - last_answer / 1000 > self.FETCH_SILENCE_S:
            raise KafkaError(f"no fetch answered for {self.FETCH_SILENCE_S:g} s")
        return lag

    async def stored_positions(self) -> dict[tuple[str, int], int]:
        async with self._db.reader.connect() as conn:
            rows = await conn.execute(
                select(consumer_positions.c.topic, consumer_positions.c.partition, consumer_positions.c.next_offset)
                .where(consumer_positions.c.consumer == self._name))
            return {(r.topic, r.partition): r.next_offset for r in rows}

    async def _check_epoch(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> bool:
        """Reset positions and write a new marker when ours is missing; True when it was.

        Positions are reset before the marker is written: a crash in between leaves the marker
        missing, and the next check resets again (harmless, the inbox dedupes).
        """
        if not await _marker_missing(consumer, self._marker, self._ensure_topics):
            return False

        async def reset() -> None:
            async with self._db.writer.begin() as conn:
                await conn.execute(update(consumer_positions).where(consumer_positions.c.consumer == self._name)
                                   .values(next_offset=0, updated_at=utcnow()))

        await with_retries(reset)
        await producer.send_and_wait(self._marker, str(uuid.uuid4()).encode(), partition=0)
        self.epochs += 1
        return True

    async def _consume(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer) -> None:
        loop = asyncio.get_running_loop()
        last_check = loop.time()
        held: dict[TopicPartition, tuple[float, float]] = {}  # partition -> (retry at, current delay)
        while not self._stopping.is_set():
            if loop.time() - last_check > self._check_interval:
                if await self._check_epoch(consumer, producer):
                    raise _NewBroker()
                last_check = loop.time()
                self.broker_outage.ok()
                self.broker_connected = True
            for tp, (retry_at, _) in list(held.items()):
                if loop.time() >= retry_at and tp in consumer.assignment():
                    consumer.resume(tp)
            batches = await consumer.getmany(timeout_ms=200, max_records=self._batch_size)
            messages = [m for tp_messages in batches.values() for m in tp_messages]
            if not messages:
                continue
            try:
                await with_retries(lambda: self._apply(messages))
                for tp in batches:
                    held.pop(tp, None)
                self.database_outage.ok()
            except Exception as exc:  # noqa: BLE001 - each event then gets its own transaction
                if self._stopping.is_set():
                    raise
                self.fallbacks += 1
                if not is_transient(exc):  # an outage is reported once, by the events that fail below
                    log.warning("consumer %s: a batch of %d events failed (%s); applying them one at a time",
                                self._name, len(messages), type(exc).__name__)
                await self._apply_one_by_one(consumer, batches, held)
            if self._assignment == "group":
                for tp, tp_messages in batches.items():
                    await self._commit_for_monitoring(consumer, tp, tp_messages[-1].offset + 1)

    async def _apply_one_by_one(self, consumer: AIOKafkaConsumer, batches: dict, held: dict) -> None:
        """Each event in its own transaction; an event that still fails holds only its own partition.

        Its partition is paused and read again from that event after a back-off (doubling up to
        ``retry_max_delay_s``), while the other partitions go on. A transient failure (database or
        broker unavailable) is retried for as long as it lasts and reported once per outage; any
        other failure is retried until the event has failed ``max_attempts`` times, and then the
        event is parked (see :meth:`_park`) and its partition goes on with the next one.
        """
        loop = asyncio.get_running_loop()
        for tp, tp_messages in batches.items():
            for message in tp_messages:
                key = (message.topic, message.partition, message.offset)
                try:
                    await with_retries(lambda: self._apply([message]))
                    self._attempts.pop(key, None)
                    self.database_outage.ok()
                    continue
                except Exception as exc:  # noqa: BLE001 - classified right below
                    if self._stopping.is_set():
                        raise
                    self.retries += 1
                    error = exc
                transient = is_transient(error)
                if transient:
                    self.database_outage.failed(error)
                    delay = min(held.get(tp, (0.0, self._retry_delay / 2))[1] * 2, self._retry_max_delay)
                else:
                    attempts = self._attempts.get(key, 0) + 1
                    if attempts >= self._max_attempts:
                        await with_retries(lambda: self._park(message, error, attempts))
                        self._attempts.pop(key, None)
                        continue  # the partition goes on with the next event
                    self._attempts[key] = attempts
                    delay = min(self._retry_delay * 2 ** (attempts - 1), self._retry_max_delay)
                    # The first failure with its traceback, the retries in one line each.
                    log.log(logging.WARNING, "consumer %s: applying %s@%d (partition %d) failed (%s), attempt %d of "
                            "%d; its partition waits %.1f s", self._name, message.topic, message.offset,
                            message.partition, type(error).__name__, attempts, self._max_attempts, delay,
                            exc_info=error if attempts == 1 else None)
                held[tp] = (loop.time() + delay, delay)
                consumer.seek(tp, message.offset)  # read again from this event
                consumer.pause(tp)
                break
            else:
                held.pop(tp, None)

    async def _park(self, message, error: BaseException, attempts: int) -> None:
        """Park one event: the dead-letter row, its inbox record, the position past it and the
        dead-letter topic message (through the outbox), in one transaction."""
        from skillpay.dead_letters import describe

        uow = self._uow_factory()
        async with uow:
            parked = await uow.parked_events(self._service).park(
                consumer=self._name, topic=message.topic, partition=message.partition, offset=message.offset,
                envelope=message.value or b"", exc=error, attempts=attempts, now=utcnow())
            inbox: Inbox = uow.inbox(self._name)
            if parked.event_id and not await inbox.seen(parked.event_id):
                # Delivered again (a broker that lost its data), it is a duplicate, not a new poison.
                await inbox.record(parked.event_id, parked.event_type or "?")
            await inbox.advance(message.topic, message.partition, message.offset + 1)
            if self._dead_letter_topic:
                from skillpay.messaging import to_timestamp
                from skillpay.ops.v1 import ops_pb2

                error_class, error_message = describe(error)
                await uow.add_event(OutgoingEvent(
                    self._dead_letter_topic, DEAD_LETTER_EVENT, parked.event_id or f"{message.topic}:{message.partition}",
                    ops_pb2.ParkedEvent(
                        parked_event_id=parked.public_id if self._service else "",
                        consumer=self._name, topic=message.topic, partition=message.partition, offset=message.offset,
                        event_id=parked.event_id, event_type=parked.event_type, error_class=error_class,
                        error_message=error_message, attempts=attempts, parked_at=to_timestamp(parked.parked_at),
                        state=ops_pb2.PARKED_EVENT_STATE_PARKED, envelope=parked.envelope)))
            await uow.commit()
        self.parked += 1
        log.error("consumer %s: parked %s@%d (partition %d, event type %s) after %d failed attempts (%s) as row %d; "
                  "`skillpay events parked` lists it", self._name, message.topic, message.offset, message.partition,
                  parked.event_type or "?", attempts, type(error).__name__, parked.id)

    async def _commit_for_monitoring(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        """Commit the offset too, so Kafka's tools show the group's lag; we never read it back.

        A commit refused during a rebalance is of no consequence: the position that counts is
        already in our database.
        """
        try:
            await consumer.commit({tp: offset})
        except KafkaError as exc:
            log.debug("consumer %s: offset commit for %s refused (%s)", self._name, tp, type(exc).__name__)

    async def _apply(self, messages) -> None:
        """Apply messages (in partition order) in one unit of work; the caller retries it whole."""
        applied = duplicates = 0
        uow = self._uow_factory()
        async with uow:
            inbox: Inbox = uow.inbox(self._name)
            seen: set[str] = set()
            positions: dict[tuple[str, int], int] = {}
            for message in messages:
                envelope = events_pb2.EventEnvelope.FromString(message.value)
                if envelope.event_id in seen or await inbox.seen(envelope.event_id):
                    duplicates += 1
                else:
                    # Log lines and spans while this event is applied name it (and its trace).
                    with request_context(f"event:{envelope.event_id}"), \
                            tracing.consumer_span(envelope, self._name, message.topic):
                        translate = self._translators.get(envelope.event_type)
                        command = translate(envelope) if translate is not None else None
                        if command is not None:
                            await self._bus.handle(command, uow=uow)
                    await inbox.record(envelope.event_id, envelope.event_type)
                    seen.add(envelope.event_id)
                    applied += 1
                positions[(message.topic, message.partition)] = message.offset + 1
            for (topic, partition), next_offset in positions.items():
                await inbox.advance(topic, partition, next_offset)
            await uow.commit()
        self.applied += applied
        self.duplicates += duplicates
        self.batches += 1
        await self._bus.dispatch(uow.collect_new_events())


class _SeekToStoredPositions(ConsumerRebalanceListener):
    """In a consumer group: start each partition we are given where our database says."""

    def __init__(self, consumer: AIOKafkaConsumer, owner: "InboxConsumer"):
        self._consumer = consumer
        self._owner = owner

    async def on_partitions_revoked(self, revoked) -> None:
        # Nothing to commit: positions are stored with every applied message.
        self._owner.assigned = frozenset()

    async def on_partitions_assigned(self, assigned) -> None:
        self._owner.assigned = frozenset(assigned)
        positions = await with_retries(self._owner.stored_positions)
        for tp in assigned:
            self._consumer.seek(tp, positions.get((tp.topic, tp.partition), 0))


class _NewBroker(Exception):
    """Raised inside the consume loop to start over with a new client and reset positions."""
