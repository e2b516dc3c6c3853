"""Database access shared by the services: engines, migrations, transaction retries.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every write transaction
starts with ``BEGIN IMMEDIATE`` through a single-connection writer pool: a writer takes the lock
up front, so two writers can never deadlock upgrading shared locks. Reads use their own pool and
never block on writers. PostgreSQL gets one pooled engine for both.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Table, event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Database:
    def __init__(self, url: str):
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.writer = self._sqlite_engine(url, immediate=True)
            self.reader = self._sqlite_engine(url, immediate=False)
        else:
            self.writer = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
            self.reader = self.writer

    @staticmethod
    def _sqlite_engine(url: str, immediate: bool) -> AsyncEngine:
        # One writer connection per process: writes queue in the pool instead of fighting for
        # the file lock; the busy timeout covers other processes.
        pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} if immediate else {"pool_size": 5, "max_overflow": 5}
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **pool)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Take transaction control away from the driver so we can say BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if immediate:
                # WAL is a property of the file (the migrations set it first); only the writer
                # re-asserts it, since switching modes needs a lock a busy reader pool can refuse.
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


# Below this many rows a multi-row INSERT costs no more than COPY's own set-up.
COPY_FROM_ROWS = 200


async def bulk_insert(conn: AsyncConnection, table: Table, rows: list[dict]) -> None:
    """Insert many rows (dicts with the same keys, in the same order) as part of the connection's transaction.

    On PostgreSQL through asyncpg this is one binary COPY, several times faster than multi-row
    INSERTs for thousands of rows (a batch chunk's vouchers and their audit records); elsewhere
    one executemany. Either way it commits or rolls back with the rest of the transaction, and a
    duplicate key fails the whole statement (IntegrityError on both).
    """
    if rows:
        # Every row has the same keys in the same order (one function built them).
        await bulk_insert_records(conn, table, list(rows[0]), [tuple(r.values()) for r in rows])


async def bulk_insert_records(conn: AsyncConnection, table: Table, columns: list[str], records: list[tuple]) -> None:
    """``bulk_insert`` of tuples in the order of ``columns``: no dict per row for a chunk's thousands."""
    if not records:
        return
    if len(records) < COPY_FROM_ROWS or conn.dialect.name != "postgresql" or conn.dialect.driver != "asyncpg":
        await conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in records])
        return
    import asyncpg

    raw = (await conn.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # SQLAlchemy begins the transaction with its first statement; COPY must not run outside it.
        await conn.execute(text("SELECT 1"))
    try:
        await raw.copy_records_to_table(table.name, records=records, columns=columns)
    except asyncpg.UniqueViolationError as exc:
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc


class ConcurrentUpdate(Exception):
    """An optimistic version check failed: another transaction changed the row first."""


def is_duplicate(exc: BaseException) -> bool:
    """A unique key was taken by a concurrent transaction (for callers that may not import SQLAlchemy)."""
    return isinstance(exc, IntegrityError)


def is_retryable(exc: BaseException) -> bool:
    """Lost optimistic races, serialization failures and deadlocks (PostgreSQL), lock timeouts (SQLite)."""
    if isinstance(exc, ConcurrentUpdate):
        return True
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, (OperationalError, DBAPIError)):
        code = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(getattr(exc, "orig", None), "pgcode", None)
        if code in {"40001", "40P01", "55P03"}:
            return True
        return "database is locked" in str(exc) or "deadlock" in str(exc).lower()
    return False


async def with_retries(fn: Callable[[], Awaitable[T]], attempts: int = 8) -> T:
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except Exception as exc:  # noqa: BLE001 - filtered right below
            if attempt == attempts or not is_retryable(exc):
                raise
            await asyncio.sleep(min(0.5, 0.01 * 2**attempt) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


def run_migrations(database_url: str, migrations_dir: Path) -> None:
    """Bring the schema to head with Alembic (the only way our schemas are created)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["database_url"] = database_url
    command.upgrade(cfg, "head")
