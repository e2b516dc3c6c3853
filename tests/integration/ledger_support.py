"""What the ledger's integration tests share: the fixed instant and actors, a migrated ledger database
and its SQL unit of work, and funds, payouts and bank statements made as the real handlers and the
bank's formats make them. The fixtures built on these are in conftest.py; the helpers for a running
ledger process are in ledger_process.py."""

from __future__ import annotations

import asyncio
import functools
import io
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from bench.statements import write_camt053, write_csv
from ledger_svc.adapters.events import to_outgoing
from ledger_svc.adapters.unit_of_work import SqlLedgerUnitOfWork
from ledger_svc.domain.model import FundType, Payee, PaymentState
from ledger_svc.service_layer import commands
from skillpay.actors import Actor, ActorKind, service_actor
from skillpay.clock import Clock
from skillpay.db import Database, run_migrations

MIGRATIONS = Path(__file__).resolve().parents[2] / "ledger_svc" / "migrations"
NOW = datetime(2026, 5, 6, 7, 8, tzinfo=UTC)  # 15:08 in Shanghai
FINANCE = Actor(ActorKind.FINANCE, "finance-1")
LEDGER = service_actor("ledger")


async def migrated_database(url: str) -> Database:
    """The ledger's database at ``url``, migrated to the newest version."""
    await asyncio.to_thread(run_migrations, url, MIGRATIONS)
    return Database(url)


def sql_uow_factory(db: Database, clock: Clock):
    return functools.partial(SqlLedgerUnitOfWork, db, "ledger", to_outgoing, clock=clock)


async def open_fund(bus, code: str = "ESF", budget: int = 0) -> None:
    """OpenFund (it gives the fund its engine accounts, F1), then a budget if one is named."""
    await bus.handle(commands.OpenFund(actor=FINANCE, fund_code=code, name="就业补助资金",
                                       fund_type=FundType.EMPLOYMENT_SUBSIDY))
    if budget:
        await bus.handle(commands.AllocateBudget(actor=FINANCE.for_request(uuid.uuid4().hex), fund_code=code,
                                                 amount_fen=budget))


async def payout_in_state(bus, pid: str, amount: int, state: str, fund: str = "ESF",
                          settled_at: datetime = NOW) -> None:
    """A payout requested, its funds committed and taken to ``state``: queued, submitted, in_doubt,
    settled or failed (the bank's answer dated ``settled_at``)."""
    await bus.handle(commands.RequestPayout(
        actor=service_actor("claim"), payout_request_id=pid, channel="ssc_card", fund_code=fund, amount_fen=amount,
        payee=Payee("张三", "110105********1234", b"sealed"), references={"claim_id": f"clm_{pid}"}))
    assert await bus.handle(commands.CommitFunds(actor=LEDGER, payment_ids=(pid,))) == [pid]
    if state == "queued":
        return
    assert len(await bus.handle(commands.StartSubmission(actor=LEDGER, payment_ids=(pid,)))) == 1
    if state == "in_doubt":
        await bus.handle(commands.MarkInDoubt(actor=LEDGER, payment_ids=(pid,)))
    elif state in ("settled", "failed"):
        assert await bus.handle(commands.ApplyBankStatus(actor=LEDGER, payment_id=pid, state=state, bank_ref=f"B{pid}",
                                                         settled_at=settled_at, failure_reason="AC04"))


async def payment_state(uow_factory, pid: str) -> PaymentState:
    async with uow_factory(read_only=True) as uow:
        return (await uow.payments.get(pid)).state


def statement_bytes(fmt: str, day: date, lines, fund: str = "ESF") -> bytes:
    """The bank's statement of ``fund`` for ``day`` holding ``lines``: as CSV, or else as camt.053."""
    if fmt == "csv":
        out = io.StringIO(newline="")
        write_csv(lines, out)
    else:
        out = io.StringIO()
        write_camt053(fund, day, lines, out)
    return out.getvalue().encode()
