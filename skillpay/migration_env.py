"""The body of every service's Alembic ``env.py``: runs migrations on the async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine


def run() -> None:
    url = context.config.attributes.get("database_url") or context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url))


def _do_run(connection) -> None:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # Readers never wait for the writer in WAL mode; the file keeps the mode.
                await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.run_sync(_do_run)
            await conn.commit()
    finally:
        await engine.dispose()
