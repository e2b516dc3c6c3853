"""The unit of work: one database transaction, plus the events it causes (written to the outbox)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from skillpay.aggregate import Aggregate
from skillpay.db import Database
from skillpay.messaging import IdempotencyStore, Inbox, OutboxWriter, OutgoingEvent

EventMapper = Callable[[object], Iterable[OutgoingEvent]]


class SqlUnitOfWork:
    """Subclasses build their repositories in :meth:`_open_repositories`.

    Repositories call :meth:`track` on every aggregate they hand out; at commit the aggregates'
    recorded domain events are mapped to outgoing events and written to the outbox in the same
    transaction as the state change.
    """

    def __init__(self, db: Database, service_name: str, event_mapper: EventMapper,
                 on_commit: Callable[[], None] | None = None, read_only: bool = False):
        self._db = db
        self._read_only = read_only
        self._service = service_name
        self._map_events = event_mapper
        self._on_commit = on_commit
        self.conn: AsyncConnection | None = None

    def _open_repositories(self, conn: AsyncConnection) -> None:  # pragma: no cover - overridden
        pass

    def track(self, aggregate: Aggregate) -> Aggregate:
        if all(a is not aggregate for a in self._seen):
            self._seen.append(aggregate)
        return aggregate

    def inbox(self, consumer: str) -> Inbox:
        return Inbox(self.conn, consumer)

    async def add_event(self, event: OutgoingEvent) -> None:
        """For events that belong to no aggregate."""
        await self.outbox.add(event)

    async def __aenter__(self) -> "SqlUnitOfWork":
        self.conn = await (self._db.reader if self._read_only else self._db.writer).connect()
        await self.conn.begin()
        self._seen: list[Aggregate] = []
        self._committed = False
        self.outbox = OutboxWriter(self.conn, self._service)
        self.idempotency = IdempotencyStore(self.conn)
        self._open_repositories(self.conn)
        return self

    async def commit(self) -> None:
        wrote_events = False
        for aggregate in self._seen:
            for domain_event in aggregate.pull_events():
                for outgoing in self._map_events(domain_event):
                    await self.outbox.add(outgoing)
                    wrote_events = True
        await self.conn.commit()
        self._committed = True
        if wrote_events and self._on_commit:
            self._on_commit()

    async def rollback(self) -> None:
        await self.conn.rollback()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if not self._committed and self.conn.in_transaction():
                await self.conn.rollback()
        finally:
            await self.conn.close()
