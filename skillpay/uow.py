"""The unit of work: one database transaction, the events it causes and its audit records.

Handlers own it: ``async with uow: ...; await uow.commit()``. It nests: a handler's unit of work
entered inside another (the idempotency middleware's, or a consumer applying a batch of events)
joins that transaction, so the request id's stored answer or the inbox row commits together with
the handler's effect. Only the outermost ``commit`` commits the database transaction; a handler
that fails (or leaves with changes it did not commit) dooms the whole of it, which its callers
then retry or apply event by event. A handler that writes must commit or raise.

At each commit the entities that repositories handed out (``track``) are examined: their domain
events go to the outbox, and every new entity or changed state becomes an audit record naming
the actor, the command and the request id (set by the message bus with ``acting``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from skillpay import tracing
from skillpay.actors import Actor
from skillpay.aggregate import Aggregate, Entity
from skillpay.audit_trail import AuditRecord, SqlAuditLog, audit_row
from skillpay.clock import Clock, SystemClock
from skillpay.db import Database
from skillpay.messaging import IdempotencyStore, Inbox, OutboxWriter, OutgoingEvent, StoredResponse

EventMapper = Callable[[object], Iterable[OutgoingEvent]]


@dataclass(frozen=True)
class AuditContext:
    actor: Actor
    command: str


@dataclass
class _Tracked:
    entity: Entity
    state_before: str  # "" for an entity created in this unit of work


@dataclass
class _TrackedMany:
    """Entities tracked together (``track_new``: a batch chunk's thousands), one entry for all."""

    entities: list[Entity]
    states_before: list[str] | None  # None: all created in this unit of work ("" each)


@dataclass
class _Level:
    tracked: list[_Tracked] = field(default_factory=list)
    ids: set[int] = field(default_factory=set)  # id() of each tracked entity: a batch chunk tracks thousands
    groups: list[_TrackedMany] = field(default_factory=list)
    committed: bool = False

    def add(self, tracked: _Tracked) -> None:
        self.tracked.append(tracked)
        self.ids.add(id(tracked.entity))

    def unchanged(self) -> bool:
        """Nothing this level handed out was created or changed (a handler that looked and left)."""
        return all(t.state_before == t.entity.audit_state()
                   and not (isinstance(t.entity, Aggregate) and t.entity.pending_events) for t in self.tracked) and all(
            g.states_before is not None and g.states_before == [e.audit_state() for e in g.entities]
            and not any(getattr(e, "_pending_events", None) for e in g.entities) for g in self.groups)


class IdempotencyRepository(Protocol):
    async def get(self, request_id: str) -> StoredResponse | None: ...
    async def put(self, request_id: str, method: str, fingerprint: str, response: bytes) -> None: ...


class AuditLog(Protocol):
    async def add(self, records: list[AuditRecord]) -> None: ...
    async def add_rows(self, rows: list[tuple]) -> None: ...
    async def list(self, aggregate_id: str, after: int, limit: int) -> list[AuditRecord]: ...


class AbstractUnitOfWork(abc.ABC):
    """What handlers rely on; the SQL implementation and the tests' in-memory fake both provide it."""

    idempotency: IdempotencyRepository
    audit: AuditLog

    def __init__(self, event_mapper: EventMapper = lambda e: (), clock: Clock | None = None):
        self._map_events = event_mapper
        self._clock = clock or SystemClock()
        self._levels: list[_Level] = []
        self._contexts: list[AuditContext] = []
        self._new_events: list = []
        self._doomed = False

    # -- the handler's view ----------------------------------------------------------------
    async def __aenter__(self):
        if not self._levels:
            await self._begin()
            self._doomed = False
        self._levels.append(_Level())
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        level = self._levels.pop()
        outermost = not self._levels
        try:
            if not level.committed:
                if outermost:
                    await self._rollback()
                elif exc_type is not None or not level.unchanged():
                    # An inner level shares the transaction (no savepoint: they cost a round trip
                    # each and no caller needs one), so it cannot be undone alone: the whole is.
                    self._doomed = True
        finally:
            if outermost:
                await self._close()

    async def commit(self) -> None:
        if self._doomed:
            raise RuntimeError("work inside this unit of work failed; it cannot commit")
        level = self._levels[-1]
        outgoing, audit = self._flush(level)
        await self._write(outgoing, audit)
        if len(self._levels) == 1:
            await self._commit()
            self._after_commit(bool(outgoing))
        else:
            # What is committed here may still change at the enclosing level: audit it from now on.
            for t in level.tracked:
                self._levels[-2].add(_Tracked(t.entity, t.entity.audit_state()))
            for g in level.groups:  # _flush left each group's states as they are now
                self._levels[-2].groups.append(g)
        level.committed = True

    def track(self, entity: Entity, new: bool = False) -> Entity:
        key = id(entity)
        for lvl in self._levels:  # a plain loop: a batch chunk tracks thousands
            if key in lvl.ids:
                return entity
        self._levels[-1].add(_Tracked(entity, "" if new else entity.audit_state()))
        return entity

    def track_new(self, entities: list[Entity]) -> None:
        """``track(e, new=True)`` for each of many entities created in this unit of work (a batch
        chunk's thousands of vouchers and persons): the same audit records and events at commit,
        with one bookkeeping entry for all of them instead of one per entity. The entities must be
        fresh: never handed to ``track`` (this does not look for them among the tracked)."""
        if entities:
            self._levels[-1].groups.append(_TrackedMany(list(entities), None))

    @contextmanager
    def acting(self, actor: Actor, command: str):
        """Audit records written meanwhile name this actor and command."""
        self._contexts.append(AuditContext(actor, command))
        try:
            yield
        finally:
            self._contexts.pop()

    def collect_new_events(self) -> list:
        """Domain events of committed work, for handlers inside this service (see MessageBus)."""
        events, self._new_events = self._new_events, []
        return events

    # -- bookkeeping -----------------------------------------------------------------------
    def _flush(self, level: _Level) -> tuple[list[OutgoingEvent], list[AuditRecord]]:
        context = self._contexts[-1] if self._contexts else None
        now = self._clock.now()
        outgoing: list[OutgoingEvent] = []
        audit: list[AuditRecord] = []
        tracing_on = tracing.enabled()  # asked once: a batch chunk flushes thousands of entities
        for tracked in level.tracked:
            entity = tracked.entity
            if isinstance(entity, Aggregate) and entity.pending_events:
                for event in entity.pull_events():
                    self._new_events.append(event)
                    outgoing.extend(self._map_events(event))
            after = entity.audit_state()
            if tracing_on and not tracked.state_before:
                # Work a background worker does on it later continues this trace.
                tracing.remember(f"{entity.audit_type}:{entity.audit_id()}")
            if after != tracked.state_before:
                if context is None:
                    raise RuntimeError(f"{entity.audit_type} changed outside a command; nobody to audit")
                audit.append(AuditRecord(now, context.actor.kind.value, context.actor.subject,
                                         context.actor.request_id, context.command, entity.audit_type,
                                         entity.audit_id(), tracked.state_before, after))
                tracked.state_before = after
        for group in level.groups:
            self._flush_group(group, context, now, tracing_on, outgoing, audit)
        return outgoing, audit

    def _flush_group(self, group: _TrackedMany, context: AuditContext | None, now, tracing_on: bool,
                     outgoing: list[OutgoingEvent], audit: list[AuditRecord]) -> None:
        """What ``_flush`` does for each tracked entity, for a group: its states are compared with
        one list, the audit record's common fields are looked up once."""
        entities = group.entities
        after = [e.audit_state() for e in entities]
        before = group.states_before or [""] * len(entities)
        for entity in entities:
            if getattr(entity, "_pending_events", None):  # Aggregate.pending_events, without creating the list
                for event in entity.pull_events():
                    self._new_events.append(event)
                    outgoing.extend(self._map_events(event))
        if tracing_on and group.states_before is None:
            for entity in entities:
                tracing.remember(f"{entity.audit_type}:{entity.audit_id()}")
        changed = [i for i, (b, a) in enumerate(zip(before, after, strict=True)) if b != a]
        if changed:
            if context is None:
                raise RuntimeError(f"{entities[0].audit_type} changed outside a command; nobody to audit")
            common = (now, context.actor.kind.value, context.actor.subject, context.actor.request_id, context.command)
            audit.extend(self._group_audit(common, [(entities[i].audit_type, entities[i].audit_id(), before[i],
                                                     after[i]) for i in changed]))
        group.states_before = after

    def _group_audit(self, common: tuple, changes: list[tuple[str, str, str, str]]) -> list[AuditRecord]:
        """A group's audit records: ``common`` (occurred_at, actor kind and subject, request id,
        command) with each (aggregate type, id, state before, after). A storage that writes them
        itself (SqlUnitOfWork: as rows, no object per record) keeps them and returns none."""
        return [AuditRecord(*common, *change) for change in changes]

    def _after_commit(self, wrote_events: bool) -> None:
        """Hook: e.g. wake the outbox relay."""

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    @abc.abstractmethod
    async def _commit(self) -> None: ...

    @abc.abstractmethod
    async def _rollback(self) -> None: ...

    async def _close(self) -> None:
        pass

    @abc.abstractmethod
    async def _write(self, outgoing: list[OutgoingEvent], audit: list[AuditRecord]) -> None: ...


class SqlUnitOfWork(AbstractUnitOfWork):
    """Subclasses build their repositories in :meth:`_open_repositories`."""

    def __init__(self, db: Database, service_name: str, event_mapper: EventMapper,
                 on_commit: Callable[[], None] | None = None, read_only: bool = False, clock: Clock | None = None):
        super().__init__(event_mapper, clock)
        self._db = db
        self._read_only = read_only
        self._service = service_name
        self._on_commit = on_commit
        self.conn: AsyncConnection | None = None
        self._audit_rows: list[tuple] = []  # a flushed group's audit records (_group_audit)

    def _open_repositories(self, conn: AsyncConnection) -> None:  # pragma: no cover - overridden
        pass

    def inbox(self, consumer: str) -> Inbox:
        return Inbox(self.conn, consumer)

    def parked_events(self, service: str = ""):
        """Events this service's consumer parked (see skillpay.dead_letters)."""
        from skillpay.dead_letters import ParkedEventStore

        return ParkedEventStore(self.conn, service)

    async def add_event(self, event: OutgoingEvent) -> None:
        """For events that belong to no aggregate."""
        await self.outbox.add(event)

    async def _begin(self) -> None:
        self._audit_rows = []
        self.conn = await (self._db.reader if self._read_only else self._db.writer).connect()
        await self.conn.begin()
        self.outbox = OutboxWriter(self.conn, self._service)
        self.idempotency = IdempotencyStore(self.conn)
        self.audit = SqlAuditLog(self.conn)
        self._open_repositories(self.conn)

    async def _commit(self) -> None:
        await self.conn.commit()

    async def _rollback(self) -> None:
        if self.conn.in_transaction():
            await self.conn.rollback()

    async def _close(self) -> None:
        await self.conn.close()

    def _group_audit(self, common: tuple, changes: list[tuple[str, str, str, str]]) -> list[AuditRecord]:
        # Kept as rows for the next _write (which follows the flush that made them).
        self._audit_rows.extend((*common, *change) for change in changes)
        return []

    async def _write(self, outgoing: list[OutgoingEvent], audit: list[AuditRecord]) -> None:
        for event in outgoing:
            await self.outbox.add(event)
        rows, self._audit_rows = self._audit_rows, []
        if rows:
            await self.audit.add_rows([audit_row(r) for r in audit] + rows)
        else:
            await self.audit.add(audit)

    def _after_commit(self, wrote_events: bool) -> None:
        if wrote_events and self._on_commit:
            self._on_commit()
