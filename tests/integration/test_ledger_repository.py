"""The ledger's handlers on its SQL unit of work, SQLite and PostgreSQL: balanced posting, F2 guard, races."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_svc.adapters.events import to_outgoing
from ledger_svc.adapters.unit_of_work import SqlLedgerUnitOfWork
from ledger_svc.bootstrap import bootstrap
from ledger_svc.domain import model
from ledger_svc.domain.model import AccountRole, FundType, InsufficientFunds, Payee, PaymentState
from ledger_svc.service_layer import commands
from skillpay.actors import Actor, ActorKind, service_actor
from skillpay.clock import FixedClock
from skillpay.db import Database, run_migrations
from skillpay.messagebus import MessageBus

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).resolve().parents[2] / "ledger_svc" / "migrations"
NOW = datetime(2026, 5, 6, 7, 8, tzinfo=timezone.utc)
FINANCE = Actor(ActorKind.FINANCE, "finance-1")
LEDGER = service_actor("ledger")


@pytest.fixture
async def uow_factory(database_url_factory):
    url = database_url_factory("ledger")
    await asyncio.to_thread(run_migrations, url, MIGRATIONS)
    db = Database(url)
    yield functools.partial(SqlLedgerUnitOfWork, db, "ledger", to_outgoing, clock=FixedClock(NOW))
    await db.dispose()


@pytest.fixture
def bus(uow_factory) -> MessageBus:
    return bootstrap(uow_factory, FixedClock(NOW))


async def _fund(bus, code="ESF", budget=0):
    await bus.handle(commands.OpenFund(actor=FINANCE, fund_code=code, name="就业补助资金",
                                       fund_type=FundType.EMPLOYMENT_SUBSIDY))
    if budget:
        await bus.handle(commands.AllocateBudget(actor=FINANCE.for_request(uuid.uuid4().hex), fund_code=code,
                                                 amount_fen=budget))


async def _balances(uow_factory, code="ESF"):
    async with uow_factory(read_only=True) as uow:
        return await uow.funds.balances(code)


@contextlib.contextmanager
def _acting(uow):
    """Direct repository work in these tests is audited as a finance officer's."""
    with uow.acting(FINANCE, "test"):
        yield


def _payout(pid: str, amount: int, payee: Payee | None = None) -> commands.RequestPayout:
    return commands.RequestPayout(actor=service_actor("claim"), payout_request_id=pid, channel="ssc_card",
                                  fund_code="ESF", amount_fen=amount,
                                  payee=payee or Payee("张三", "110105********1234", b"sealed"),
                                  references={"claim_id": f"clm_{pid}"})


@pytest.mark.policy("F1", "F2")
async def test_F2_posting_that_would_overdraw_leaves_nothing_behind(bus, uow_factory):
    await _fund(bus, budget=100)
    async with uow_factory() as uow:
        with uow.acting(FINANCE, "test"):
            with pytest.raises(InsufficientFunds):
                await uow.journal.post(model.commitment("ESF", 101, "pay_x", NOW))
            # The savepoint undid the entry; the surrounding transaction still works.
            await uow.journal.post(model.commitment("ESF", 100, "pay_y", NOW))
            await uow.commit()
    async with uow_factory(read_only=True) as uow:
        entries = await uow.journal.list(None, 100)
    assert [e.reference for e in entries if e.kind == "commitment"] == ["pay_y"]
    b = await _balances(uow_factory)
    assert (b.allocated_fen, b.available_fen, b.payable_fen) == (100, 0, 100)


@pytest.mark.policy("F2")
async def test_F2_two_payments_racing_for_the_last_money_exactly_one_is_funded(bus, uow_factory):
    await _fund(bus, budget=1_000)
    payments = await asyncio.gather(bus.handle(_payout("po_1", 1_000)), bus.handle(_payout("po_2", 1_000)))
    states = [p.state for p in payments]
    assert sorted(s.value for s in states) == ["awaiting_funds", "pending"]
    b = await _balances(uow_factory)
    assert (b.available_fen, b.payable_fen) == (0, 1_000)


@pytest.mark.policy("F3", "X2")
async def test_X2_a_payout_request_that_arrives_again_is_refused_and_counted(bus, uow_factory):
    await _fund(bus, budget=5_000)
    ids = {(await bus.handle(_payout("po_1", 2_000))).payment_id for _ in range(3)}
    assert ids == {"po_1"}
    async with uow_factory(read_only=True) as uow:
        entries = await uow.journal.list(None, 100, "ESF")
        payment = await uow.payments.get("po_1")
        trail = await uow.audit.list("po_1", 0, 10)
    assert [e.kind for e in entries].count("commitment") == 1
    assert (payment.fund_code, payment.amount_fen, payment.state) == ("ESF", 2_000, PaymentState.PENDING)
    assert payment.duplicate_requests == 2 and payment.references == {"claim_id": "clm_po_1"}
    assert [(r.command, r.state_before, r.state_after, r.actor_subject) for r in trail] == [
        ("RequestPayout", "", "pending", "claim")]


@pytest.mark.policy("F2")
async def test_F2_settled_and_failed_payments_keep_the_fund_balanced(bus, uow_factory):
    await _fund(bus, budget=10_000)
    payments = [(await bus.handle(_payout(f"po_{i}", 3_000))).payment_id for i in range(2)]
    for pid, outcome in zip(payments, ("settled", "failed")):
        assert (await bus.handle(commands.StartSubmission(actor=LEDGER, payment_id=pid))) is not None
        assert await bus.handle(commands.ApplyBankStatus(actor=LEDGER, payment_id=pid, state=outcome, bank_ref="B1",
                                                         failure_reason="account_closed"))
        # The bank saying it again changes nothing (no second disbursement or release).
        assert not await bus.handle(commands.ApplyBankStatus(actor=LEDGER, payment_id=pid, state=outcome,
                                                             bank_ref="B1", failure_reason="account_closed"))
    b = await _balances(uow_factory)
    assert (b.allocated_fen, b.available_fen, b.payable_fen, b.disbursed_fen) == (10_000, 7_000, 0, 3_000)
    async with uow_factory(read_only=True) as uow:
        entries = await uow.journal.list(None, 100)
    for e in entries:
        assert sum(p.debit_fen for p in e.postings) == sum(p.credit_fen for p in e.postings)
    assert sorted(e.kind for e in entries) == ["allocation", "commitment", "commitment", "disbursement", "release"]


async def test_optimistic_version_check_rejects_a_stale_write(bus, uow_factory):
    from skillpay.db import ConcurrentUpdate

    await _fund(bus, budget=1_000)
    p = await bus.handle(_payout("po_v", 500))
    async with uow_factory() as uow:
        stale = await uow.payments.get(p.payment_id)
    async with uow_factory() as uow:
        with uow.acting(LEDGER, "StartSubmission"):
            fresh = await uow.payments.get(p.payment_id)
            fresh.submitting(NOW)
            await uow.payments.save(fresh)
            await uow.commit()
    async with uow_factory() as uow:
        stale.submitting(NOW)
        with pytest.raises(ConcurrentUpdate):
            await uow.payments.save(stale)


@pytest.mark.policy("F2", "C8")
async def test_F2_a_refused_posting_leaves_no_entry_and_no_audit_record(bus, uow_factory):
    await _fund(bus, budget=100)
    payment = await bus.handle(_payout("po_big", 101))
    assert payment.state is PaymentState.AWAITING_FUNDS
    async with uow_factory(read_only=True) as uow:
        entries = await uow.journal.list(None, 100, "ESF")
        trail = await uow.audit.list("po_big", 0, 10)
        commitment_trail = await uow.audit.list(model.entry_id_for("commitment", "po_big"), 0, 10)
    assert [e.kind for e in entries] == ["allocation"]
    assert [(r.aggregate_type, r.state_after) for r in trail] == [("payment", "awaiting_funds")]
    assert commitment_trail == []


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
        with _acting(uow):
            for code in funds.values():
                await uow.funds.add(model.Fund.open(code, "资金", FundType.OTHER, NOW))
            for i, (op, f, amount) in enumerate(ops):
                entry = OPS[op](funds[f], amount, f"ref_{run}_{i}", NOW)
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
async def test_F2_only_the_available_and_payable_accounts_refuse_to_go_below_zero(bus, uow_factory):
    await _fund(bus)  # every account at zero

    def entry(role: AccountRole, other: AccountRole) -> model.JournalEntry:
        # Debiting a credit-normal account takes it below zero.
        return model.JournalEntry(f"je_{role.value}", "ESF", "test", role.value, (
            model.Posting(model.account_code("ESF", role), debit_fen=5),
            model.Posting(model.account_code("ESF", other), credit_fen=5)), NOW)

    refused = set()
    async with uow_factory() as uow:
        with _acting(uow):
            for role in AccountRole:
                other = AccountRole.DISBURSED if role is AccountRole.BUDGET else AccountRole.BUDGET
                try:
                    await uow.journal.post(entry(role, other))
                except InsufficientFunds:
                    refused.add(role)
            await uow.commit()
    assert refused == {AccountRole.AVAILABLE, AccountRole.PAYABLE}


async def test_an_allocation_under_the_longest_request_id_is_recorded(bus, uow_factory):
    from skillpay.messagebus import MAX_REQUEST_ID_CHARS

    await _fund(bus)
    await bus.handle(commands.AllocateBudget(actor=FINANCE.for_request("r" * MAX_REQUEST_ID_CHARS), fund_code="ESF",
                                             amount_fen=500))
    assert (await _balances(uow_factory)).available_fen == 500
