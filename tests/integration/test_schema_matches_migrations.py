"""The schema has one source: each service's migrations build exactly what its metadata describes.

Deployed databases are built by the migrations, so the code's tables must follow them; and the
migrations are frozen text, never importing the live table definitions.
"""

from __future__ import annotations

import asyncio
import importlib
import pprint
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from skillpay.db import run_migrations

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["voucher_svc", "claim_svc", "ledger_svc"]


def _diff(conn, metadata) -> list:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    # alembic_version is Alembic's own bookkeeping, not part of any service's metadata.
    return [d for d in compare_metadata(ctx, metadata) if not _is_alembic_version(d)]


def _is_alembic_version(diff) -> bool:
    return diff[0] == "remove_table" and diff[1].name == "alembic_version"


def _check_constraints(conn) -> dict[str, set[str]]:
    # compare_metadata ignores CHECK constraints, so compare their names separately.
    insp = inspect(conn)
    return {t: {c["name"] for c in insp.get_check_constraints(t)} for t in insp.get_table_names()
            if t != "alembic_version"}


@pytest.mark.parametrize("svc", SERVICES)
async def test_migrations_build_what_the_metadata_describes(svc, database_url_factory):
    metadata = importlib.import_module(f"{svc}.adapters.tables").metadata
    url = database_url_factory(svc.removesuffix("_svc"))
    # run_migrations calls asyncio.run itself, so it needs a thread without a running loop.
    await asyncio.to_thread(run_migrations, url, ROOT / svc / "migrations")

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff, metadata)
            checks = await conn.run_sync(_check_constraints)
            if url.startswith("postgresql"):
                methods = dict((await conn.exec_driver_sql(
                    "SELECT i.relname, am.amname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                    "JOIN pg_am am ON am.oid = i.relam JOIN pg_namespace n ON n.oid = i.relnamespace "
                    "WHERE n.nspname = current_schema()")).all())
    finally:
        await engine.dispose()

    assert not diff, f"{svc}: migrations and metadata differ:\n{pprint.pformat(diff)}"
    if url.startswith("postgresql"):
        # compare_metadata looks at an index's columns, not its method (hash or B-tree).
        expected_methods = {i.name: i.dialect_options["postgresql"]["using"] or "btree"
                            for t in metadata.sorted_tables for i in t.indexes}
        assert {n: m for n, m in methods.items() if n in expected_methods} == expected_methods
    expected = {t.name: {c.name for c in t.constraints if isinstance(c, CheckConstraint)}
                for t in metadata.sorted_tables}
    assert checks == expected


_LIVE_IMPORT = re.compile(r"^\s*(from|import)\s+(skillpay\.messaging|\w+\.adapters\.tables)\b", re.M)


def test_migrations_do_not_import_live_tables():
    """A migration importing live tables changes what an old revision builds when they change."""
    files = sorted(ROOT.glob("*/migrations/versions/*.py"))
    assert files
    offenders = [str(f.relative_to(ROOT)) for f in files if _LIVE_IMPORT.search(f.read_text())]
    assert not offenders, f"migrations importing live table definitions: {offenders}"
