"""The ledger's SQL adapter on SQLite and PostgreSQL: balanced posting, F2 guard, concurrency."""

from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_svc.adapters.events import to_outgoing
from ledger_svc.adapters.repository import InsufficientFunds
from ledger_svc.adapters.unit_of_work import LedgerUnitOfWork
from ledger_svc.domain import model
from ledger_svc.domain.model import AccountRole, FundType, Payee, PaymentState
from ledger_svc.service_layer import services
from skillpay.clock import utcnow
from skillpay.db import Database, run_migrations, with_retries

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "ledger_svc" / "migrations"
NOW = datetime(2025, 6, 30, 18, 30, tzinfo=timezone.utc)


@pytest.fixture
async def uow_factory(database_url_factory):
    url = database_url_factory("ledger")
    await asyncio.to_thread(run_migrations, url, MIGRATIONS)
    db = Database(url)
    yield functools.partial(LedgerUnitOfWork, db, "ledger", to_outgoing)
    await db.dispose()


async def _fund(uow_factory, code="ESF", budget=0):
    async with uow_factory() as uow:
        await services.open_fund(uow, code, "就业补助资金", FundType.EMPLOYMENT_SUBSIDY, utcnow())
        if budget:
            await services.allocate_budget(uow, code, budget, f"budget-{code}", utcnow())
        await uow.commit()


async def _balances(uow_factory, code="ESF"):
    async with uow_factory(read_only=True) as uow:
        return await uow.funds.balances(code)


@pytest.mark.policy("F1", "F2")
async def test_F2_posting_that_would_overdraw_leaves_nothing_behind(uow_factory):
    await _fund(uow_factory, budget=100)
    async with uow_factory() as uow:
        with pytest.raises(InsufficientFunds):
            await uow.journal.post(model.commitment("je_x", "ESF", 101, "pay_x", utcnow()))
        # The savepoint undid the entry; the surrounding transaction still works.
        await uow.journal.post(model.commitment("je_y", "ESF", 100, "pay_y", utcnow()))
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        entries = await uow.journal.list(None, 100)
    assert [e.reference for e in entries if e.kind == "commitment"] == ["pay_y"]
    b = await _balances(uow_factory)
    assert (b.allocated_fen, b.available_fen, b.payable_fen) == (100, 0, 100)


@pytest.mark.policy("F2")
async def test_F2_two_payments_racing_for_the_last_money_exactly_one_is_funded(uow_factory):
    await _fund(uow_factory, budget=1_000)
    payee = Payee("张三", "110105********1234", b"sealed")

    async def claim(i: int):
        async def attempt():
            async with uow_factory() as uow:
                p = await services.payment_for_approved_claim(uow, f"clm_{i}", f"vch_{i}", "ssc_card", "ESF", 1_000,
                                                              payee, utcnow())
                await uow.commit()
                return p.state
        return await with_retries(attempt)

    states = await asyncio.gather(claim(1), claim(2))
    assert sorted(s.value for s in states) == ["awaiting_funds", "pending"]
    b = await _balances(uow_factory)
    assert (b.available_fen, b.payable_fen) == (0, 1_000)


@pytest.mark.policy("F3", "X2")
async def test_duplicate_claim_approved_creates_one_payment_and_one_commitment(uow_factory):
    await _fund(uow_factory, budget=5_000)
    payee = Payee("李小明", "110105********1234", b"sealed")
    ids = set()
    for _ in range(3):
        async with uow_factory() as uow:
            p = await services.payment_for_approved_claim(uow, "clm_1", "vch_1", "ssc_card", "ESF", 2_000, payee, utcnow())
            await uow.commit()
            ids.add(p.payment_id)
    assert len(ids) == 1
    async with uow_factory(read_only=True) as uow:
        entries = await uow.journal.list(None, 100, "ESF")
        payment = await uow.payments.get(ids.pop())
    assert [e.kind for e in entries].count("commitment") == 1
    assert (payment.fund_code, payment.amount_fen, payment.state) == ("ESF", 2_000, PaymentState.PENDING)


@pytest.mark.policy("F2")
async def test_F2_settled_and_failed_payments_keep_the_fund_balanced(uow_factory):
    await _fund(uow_factory, budget=10_000)
    payee = Payee("王芳", "110105********1234", b"sealed")
    payments = []
    for i in range(2):
        async with uow_factory() as uow:
            p = await services.payment_for_approved_claim(uow, f"clm_{i}", f"vch_{i}", "ssc_card", "ESF", 3_000,
                                                          payee, utcnow())
            await uow.commit()
            payments.append(p.payment_id)
    for pid, outcome in zip(payments, ("settled", "failed")):
        async with uow_factory() as uow:
            p = await uow.payments.get(pid, for_update=True)
            p.submitting(utcnow())
            if outcome == "settled":
                await services.settle_payment(uow, p, "B1", utcnow())
            else:
                await services.fail_payment(uow, p, "account_closed", utcnow())
            await uow.payments.save(p)
            await uow.commit()
    b = await _balances(uow_factory)
    assert (b.allocated_fen, b.available_fen, b.payable_fen, b.disbursed_fen) == (10_000, 7_000, 0, 3_000)
    async with uow_factory(read_only=True) as uow:
        entries = await uow.journal.list(None, 100)
    for e in entries:
        assert sum(p.debit_fen for p in e.postings) == sum(p.credit_fen for p in e.postings)
    assert sorted(e.kind for e in entries) == ["allocation", "commitment", "commitment", "disbursement", "release"]


async def test_optimistic_version_check_rejects_a_stale_write(uow_factory):
    from skillpay.db import ConcurrentUpdate

    await _fund(uow_factory, budget=1_000)
    async with uow_factory() as uow:
        p = await services.payment_for_approved_claim(uow, "clm", "vch", "ssc_card", "ESF", 500,
                                                      Payee("张三", "m", b"s"), utcnow())
        await uow.commit()
    async with uow_factory() as uow:
        stale = await uow.payments.get(p.payment_id)
    async with uow_factory() as uow:
        fresh = await uow.payments.get(p.payment_id)
        fresh.submitting(utcnow())
        await uow.payments.save(fresh)
        await uow.commit()
    async with uow_factory() as uow:
        stale.submitting(utcnow())
        with pytest.raises(ConcurrentUpdate):
            await uow.payments.save(stale)


# -- F2 as a property of the real repository: hypothesis picks the postings -------------------

OPS = {"allocate": model.allocation, "commit": model.commitment, "disburse": model.disbursement,
       "release": model.release}
# What each operation moves, and which balance must cover it (None: nothing needs to).
MOVES = {"allocate": (None, {"allocated": 1, "available": 1}), "commit": ("available", {"available": -1, "payable": 1}),
         "disburse": ("payable", {"payable": -1, "disbursed": 1}), "release": ("payable", {"payable": -1, "available": 1})}
operations = st.lists(st.tuples(st.sampled_from(sorted(OPS)), st.sampled_from("AB"),
                                # small amounts mostly fit, large ones hit the guard
                                st.one_of(st.integers(1, 100), st.integers(1, 10_000_000))),
                      min_size=1, max_size=25)


@pytest.mark.policy("F2")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
async def test_F2_property_journal_posts_balance_and_never_overdraw_a_fund(uow_factory, ops):
    # One database for all examples; each example opens funds of its own.
    run = uuid.uuid4().hex[:8]
    funds = {f: f"F{f}-{run}" for f in "AB"}
    expected = {f: dict(allocated=0, available=0, payable=0, disbursed=0) for f in "AB"}
    async with uow_factory() as uow:
        for code in funds.values():
            await uow.funds.add(model.Fund.open(code, "资金", FundType.OTHER, NOW))
        for i, (op, f, amount) in enumerate(ops):
            entry = OPS[op](f"je_{run}_{i}", funds[f], amount, f"ref_{run}_{i}", NOW)
            covering, moves = MOVES[op]
            should_refuse = covering is not None and amount > expected[f][covering]
            try:
                await uow.journal.post(entry)
            except InsufficientFunds:
                assert should_refuse, f"{op} {amount} was refused although fund {f} could cover it"
                assert not await uow.journal.has(entry.kind, entry.reference)  # nothing of it remains
            else:
                assert not should_refuse, f"{op} {amount} went through although fund {f} could not cover it"
                for key, sign in moves.items():
                    expected[f][key] += sign * amount
            for g in "AB":  # the other fund never moves (F2)
                assert await uow.funds.balances(funds[g]) == model.FundBalances(**{
                    f"{k}_fen": v for k, v in expected[g].items()})
        await uow.commit()
    async with uow_factory(read_only=True) as uow:
        for f, code in funds.items():
            b = await uow.funds.balances(code)
            assert b == model.FundBalances(**{f"{k}_fen": v for k, v in expected[f].items()})
            assert b.allocated_fen == b.available_fen + b.payable_fen + b.disbursed_fen
            assert min(b.available_fen, b.payable_fen) >= 0
            for entry in await uow.journal.list(None, 100, code):
                assert sum(p.debit_fen for p in entry.postings) == sum(p.credit_fen for p in entry.postings)


@pytest.mark.policy("F2")
async def test_F2_only_the_available_and_payable_accounts_refuse_to_go_below_zero(uow_factory):
    await _fund(uow_factory)  # every account at zero

    def entry(role: AccountRole, other: AccountRole) -> model.JournalEntry:
        # Debiting a credit-normal account takes it below zero.
        return model.JournalEntry(f"je_{role.value}", "ESF", "test", role.value, (
            model.Posting(model.account_code("ESF", role), debit_fen=5),
            model.Posting(model.account_code("ESF", other), credit_fen=5)), NOW)

    refused = set()
    async with uow_factory() as uow:
        for role in AccountRole:
            other = AccountRole.DISBURSED if role is AccountRole.BUDGET else AccountRole.BUDGET
            try:
                await uow.journal.post(entry(role, other))
            except InsufficientFunds:
                refused.add(role)
        await uow.commit()
    assert refused == {AccountRole.AVAILABLE, AccountRole.PAYABLE}
