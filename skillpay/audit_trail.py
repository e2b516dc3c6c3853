"""The audit trail: who changed what, when, from which state to which (C8: nothing is deleted).

One row per state change, written by the unit of work in the same transaction as the change.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from skillpay.clock import aware
from skillpay.db import bulk_insert_records

_BigId = BigInteger().with_variant(Integer(), "sqlite")


def add_audit_table(metadata: MetaData) -> Table:
    return Table(
        "audit_records", metadata,
        Column("id", _BigId, primary_key=True, autoincrement=True),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("actor_kind", String(16), nullable=False),
        Column("actor_subject", String(128), nullable=False),
        Column("request_id", String(128), nullable=False),
        Column("command", String(64), nullable=False),
        Column("aggregate_type", String(32), nullable=False),
        Column("aggregate_id", String(100), nullable=False),
        Column("state_before", String(32), nullable=False),
        Column("state_after", String(32), nullable=False),
        # Looked up by equality only (ordered by id after): a hash index on PostgreSQL is a quarter
        # of a B-tree on these long random keys, and stays in cache when a batch adds millions.
        Index("ix_audit_records_aggregate_id", "aggregate_id", postgresql_using="hash"),
    )


audit_records = add_audit_table(MetaData())


@dataclass(frozen=True)
class AuditRecord:
    occurred_at: datetime
    actor_kind: str
    actor_subject: str
    request_id: str
    command: str
    aggregate_type: str
    aggregate_id: str
    state_before: str
    state_after: str
    record_id: int = 0


_AUDIT_COLUMNS = ("occurred_at", "actor_kind", "actor_subject", "request_id", "command", "aggregate_type",
                  "aggregate_id", "state_before", "state_after")
_audit_values = operator.attrgetter(*_AUDIT_COLUMNS)


def audit_row(record: AuditRecord) -> tuple:
    """The record as a row of ``SqlAuditLog.add_rows`` (its fields but the id, in table order)."""
    return _audit_values(record)


class SqlAuditLog:
    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def add(self, records: list[AuditRecord]) -> None:
        # One statement however many records: a batch chunk writes thousands (COPY on PostgreSQL).
        await bulk_insert_records(self._conn, audit_records, list(_AUDIT_COLUMNS),
                                  [_audit_values(r) for r in records])

    async def add_rows(self, rows: list[tuple]) -> None:
        """``add`` for records given as rows (``audit_row``): a batch chunk's thousands need no object each."""
        await bulk_insert_records(self._conn, audit_records, list(_AUDIT_COLUMNS), rows)

    async def list(self, aggregate_id: str, after: int, limit: int) -> list[AuditRecord]:
        rows = await self._conn.execute(
            select(audit_records).where(audit_records.c.aggregate_id == aggregate_id, audit_records.c.id > after)
            .order_by(audit_records.c.id).limit(limit))
        return [AuditRecord(aware(r.occurred_at), r.actor_kind, r.actor_subject, r.request_id, r.command,
                            r.aggregate_type, r.aggregate_id, r.state_before, r.state_after, r.id) for r in rows]
