"""Fixtures the integration tests share (the databases and the broker are tests/conftest.py's)."""

from __future__ import annotations

import pytest

from ledger_svc.bootstrap import bootstrap
from skillpay.auth import load_or_create_private_key
from skillpay.clock import FixedClock
from skillpay.messagebus import MessageBus
from tests.integration.ledger_support import NOW, migrated_database, sql_uow_factory


@pytest.fixture
def signing_key(tmp_path):
    """The key the test's callers sign their tokens with (a service started with it trusts them)."""
    return load_or_create_private_key(tmp_path / "keys" / "actor_signing.pem")


@pytest.fixture
async def ledger_db(database_url_factory):
    """A fresh ledger database on the test's backend, migrated to the newest version."""
    db = await migrated_database(database_url_factory("ledger"))
    yield db
    await db.dispose()


@pytest.fixture
def ledger_uow_factory(ledger_db):
    """The ledger's SQL unit of work on ``ledger_db``, its clock fixed at NOW."""
    return sql_uow_factory(ledger_db, FixedClock(NOW))


@pytest.fixture
def ledger_bus(ledger_uow_factory) -> MessageBus:
    """The ledger's handlers on ``ledger_uow_factory``, their clock fixed at NOW."""
    return bootstrap(ledger_uow_factory, FixedClock(NOW))
