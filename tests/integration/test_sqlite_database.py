"""The embedded SQLite default: WAL, busy timeout, and write transactions that cannot deadlock."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from skillpay.db import SQLITE_BUSY_TIMEOUT_MS, Database

pytestmark = pytest.mark.integration


@pytest.fixture
async def two_engines(tmp_path):
    """Two Database objects on one file: as two processes would see it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"
    a, b = Database(url), Database(url)
    async with a.writer.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        await conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    yield a, b
    await a.dispose()
    await b.dispose()


async def test_wal_and_busy_timeout_are_on(two_engines):
    a, _ = two_engines
    async with a.reader.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == SQLITE_BUSY_TIMEOUT_MS


async def test_racing_read_modify_write_transactions_never_deadlock_or_lose_updates(two_engines):
    """With deferred BEGIN, two readers upgrading to writers fail with 'database is locked' at once;
    BEGIN IMMEDIATE takes the write lock up front, so each waits its turn."""

    async def increment(db: Database) -> None:
        async with db.writer.begin() as conn:
            n = (await conn.execute(text("SELECT n FROM counter WHERE id = 1"))).scalar()
            await asyncio.sleep(0.005)  # widen the window between read and write
            await conn.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})

    a, b = two_engines
    await asyncio.gather(*[increment(a if i % 2 else b) for i in range(30)])
    async with a.reader.connect() as conn:
        assert (await conn.execute(text("SELECT n FROM counter"))).scalar() == 30


async def test_readers_are_not_blocked_by_an_open_write_transaction(two_engines):
    a, b = two_engines
    async with a.writer.begin() as conn:
        await conn.execute(text("UPDATE counter SET n = 99 WHERE id = 1"))
        async with b.reader.connect() as reader:
            # WAL: the reader sees the last committed value without waiting for the writer.
            value = await asyncio.wait_for(reader.execute(text("SELECT n FROM counter")), 2)
            assert value.scalar() == 0


async def test_fresh_reader_connections_open_while_the_writer_is_busy(two_engines):
    """Opening a reader must not need a lock: the relay and consumers open readers at any time."""
    a, b = two_engines
    async with a.writer.begin() as conn:
        await conn.execute(text("UPDATE counter SET n = n + 1"))  # holds the write lock meanwhile

        async def read() -> int:
            async with b.reader.connect() as reader:
                return (await reader.execute(text("SELECT n FROM counter"))).scalar()

        values = await asyncio.wait_for(asyncio.gather(*[read() for _ in range(8)]), 10)
    assert values == [0] * 8  # the committed value; the open write is invisible to readers
