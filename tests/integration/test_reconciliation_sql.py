"""ReconcileStatement on the ledger's SQL unit of work, SQLite and PostgreSQL: the bank's statement
resolves in-doubt payouts, lists every difference, and a second run changes nothing (issue 8)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bench.statements import line
from ledger_svc.domain.model import PaymentState
from ledger_svc.domain.reconciliation import CRDT, Category
from ledger_svc.service_layer import commands
from skillpay.errors import InvalidArgument, NotFound
from tests.integration.ledger_support import (
    FINANCE,
    NOW,
    open_fund,
    payment_state,
    payout_in_state,
    statement_bytes,
)

pytestmark = pytest.mark.integration
DAY = date(2026, 5, 6)  # NOW's day in Shanghai


async def _ledger_snapshot(uow_factory):
    async with uow_factory(read_only=True) as uow:
        entries = sorted({(t.code.name, t.user_data) for role in ("available", "payables", "clearing", "disbursed")
                          for _, t in await uow.transfers.history(f"ESF:{role}", 0, 1000)})
        balances = await uow.funds.balances("ESF")
        payments = [(p.payment_id, p.state, p.bank_ref, p.settled_at) for p in await uow.payments.list(None, 1000)]
    return entries, balances, payments


@pytest.mark.policy("F3", "X2")
@pytest.mark.parametrize("fmt", ["csv", "camt053"])
async def test_F3_the_statement_settles_in_doubt_payouts_lists_differences_and_a_second_run_changes_nothing(
        ledger_bus, ledger_uow_factory, fmt):
    await open_fund(ledger_bus, "ESF", 1_000_000)
    await open_fund(ledger_bus, "UIF", 1_000_000)
    await payout_in_state(ledger_bus, "po_doubt", 2_000, "in_doubt")
    await payout_in_state(ledger_bus, "po_sub", 3_000, "submitted")
    await payout_in_state(ledger_bus, "po_settled", 4_000, "settled")
    await payout_in_state(ledger_bus, "po_failed", 1_500, "failed")
    await payout_in_state(ledger_bus, "po_missing", 2_500, "in_doubt")
    await payout_in_state(ledger_bus, "po_off", 2_000, "in_doubt")
    await payout_in_state(ledger_bus, "po_old", 5_000, "settled", settled_at=NOW - timedelta(days=1))
    await payout_in_state(ledger_bus, "po_waiting", 700, "queued")
    # Settled on the Shanghai day DAY (though on the day before in UTC), missing from the statement.
    await payout_in_state(ledger_bus, "po_early", 800, "settled", settled_at=datetime(2026, 5, 5, 16, 30, tzinfo=UTC))
    # Settled late on the day before (Shanghai): another statement's.
    await payout_in_state(ledger_bus, "po_prev", 600, "settled", settled_at=datetime(2026, 5, 5, 15, 30, tzinfo=UTC))
    await payout_in_state(ledger_bus, "po_uif", 900, "in_doubt", fund="UIF")  # another fund's (F2)
    content = statement_bytes(fmt, DAY, [
        line(2, DAY, "po_doubt", 2_000, bank_ref="BK1"),
        line(3, DAY, "po_sub", 3_000, bank_ref="BK2"),
        line(4, DAY, "po_settled", 4_000, bank_ref="BK3"),
        line(5, DAY, "po_off", 2_001, bank_ref="BK4"),  # one fen more than the ledger paid
        line(6, DAY, "po_old", 5_000, cd=CRDT, reason="AC04", bank_ref="BK5"),  # yesterday's payout came back
        line(7, DAY, "po_uif", 900, bank_ref="BK6"),
        line(8, DAY, "po_doubt", 2_000, bank_ref="BK7"),  # booked twice
    ])
    cmd = commands.ReconcileStatement(actor=FINANCE, fund_code="ESF", day=DAY, format=fmt, content=content)
    first = await ledger_bus.handle(cmd)

    assert sorted(first.settled_ids) == ["po_doubt", "po_sub"]
    assert first.returned_ids == ["po_old"] and first.skipped_ids == []
    by_category: dict[Category, list[str]] = {}
    for f in first.reconciliation.findings:
        by_category.setdefault(f.category, []).append(f.payout_id)
    assert {c: sorted(ids) for c, ids in by_category.items()} == {
        Category.MATCHED: ["po_doubt", "po_settled", "po_sub"],
        Category.AMOUNT_MISMATCH: ["po_off"],
        Category.RETURNED: ["po_old"],
        Category.IN_LEDGER_NOT_STATEMENT: ["po_early", "po_missing"],
        Category.IN_STATEMENT_NOT_LEDGER: ["po_uif"],
        Category.DUPLICATE: ["po_doubt"],
    }
    assert first.unexplained == 5
    for pid, state in [("po_doubt", PaymentState.SETTLED), ("po_sub", PaymentState.SETTLED),
                       ("po_off", PaymentState.IN_DOUBT), ("po_missing", PaymentState.IN_DOUBT),
                       ("po_uif", PaymentState.IN_DOUBT), ("po_failed", PaymentState.FAILED),
                       ("po_waiting", PaymentState.QUEUED), ("po_old", PaymentState.RETURNED)]:
        assert await payment_state(ledger_uow_factory, pid) is state, pid
    entries, balances, payments = await _ledger_snapshot(ledger_uow_factory)
    disbursed = sorted(ref for kind, ref in entries if kind == "SETTLEMENT")
    assert disbursed == ["po_doubt", "po_early", "po_old", "po_prev", "po_settled", "po_sub"]
    assert ("RETURN", "po_old") in entries  # X2: the return is booked, the money available again
    assert balances.disbursed_fen == 2_000 + 800 + 600 + 4_000 + 3_000
    assert balances.returned_fen == 5_000
    async with ledger_uow_factory(read_only=True) as uow:
        assert (await uow.transfers.verify())[0] == []
        assert (await uow.payments.get("po_old")).failure_reason == "returned by bank: AC04"
    settled = {p[0]: p for p in payments}
    assert settled["po_doubt"][2] == "BK1" and settled["po_doubt"][3] == NOW
    async with ledger_uow_factory(read_only=True) as uow:
        trail = await uow.audit.list("po_doubt", 0, 10)
    assert (trail[-1].command, trail[-1].state_before, trail[-1].state_after, trail[-1].actor_subject) == (
        "ReconcileStatement", "in_doubt", "settled", "finance-1")

    # The same statement again: the same findings, nothing settled, nothing posted.
    second = await ledger_bus.handle(cmd)
    assert second.settled_ids == [] and second.returned_ids == []  # returned already
    assert second.reconciliation.summary() == first.reconciliation.summary()
    assert await _ledger_snapshot(ledger_uow_factory) == (entries, balances, payments)


@pytest.mark.policy("F3")
async def test_F3_a_malformed_statement_is_refused_with_its_lines_named_and_changes_nothing(
        ledger_bus, ledger_uow_factory):
    await open_fund(ledger_bus, "ESF", 100_000)
    await payout_in_state(ledger_bus, "po_doubt", 2_000, "in_doubt")
    good = statement_bytes("csv", DAY, [line(2, DAY, "po_doubt", 2_000)])
    bad = good + b"2026-05-06,2026-05-06,BK9,po_x,ESF,ssc_card,DBIT,12.5,BOOK,\r\n"
    before = await _ledger_snapshot(ledger_uow_factory)
    with pytest.raises(InvalidArgument) as refused:
        await ledger_bus.handle(commands.ReconcileStatement(actor=FINANCE, fund_code="ESF", day=DAY, format="csv",
                                                            content=bad))
    assert [v.field for v in refused.value.violations] == ["line 3: amount_fen"]
    assert await _ledger_snapshot(ledger_uow_factory) == before
    with pytest.raises(InvalidArgument) as refused:
        await ledger_bus.handle(commands.ReconcileStatement(actor=FINANCE, fund_code="bad code!", day="yesterday",
                                                            format="mt940", content=b""))
    assert sorted(v.field for v in refused.value.violations) == ["content", "day", "format", "fund_code"]
    for far_off in (date(1, 1, 1), date(9999, 12, 31)):  # found by the RPC fuzz: once INTERNAL
        with pytest.raises(InvalidArgument) as refused:
            await ledger_bus.handle(commands.ReconcileStatement(actor=FINANCE, fund_code="ESF", day=far_off,
                                                                format="csv", content=good))
        assert [v.field for v in refused.value.violations] == ["day"]
    with pytest.raises(NotFound):
        await ledger_bus.handle(commands.ReconcileStatement(actor=FINANCE, fund_code="NOPE", day=DAY, format="csv",
                                                            content=good))
    assert await payment_state(ledger_uow_factory, "po_doubt") is PaymentState.IN_DOUBT


async def test_a_payout_that_moved_on_since_it_was_read_is_left_as_it_is(ledger_bus, ledger_uow_factory, monkeypatch):
    """The payout worker may return a payout to the queue between the read and the settlement: the
    statement's word is then not applied to it (settle would fail); it is listed as skipped."""
    from ledger_svc.adapters.repository import SqlPaymentRepository
    from ledger_svc.domain.reconciliation import LedgerPayout

    await open_fund(ledger_bus, "ESF", 100_000)
    await payout_in_state(ledger_bus, "po_wait", 2_000, "queued")

    async def stale(self, fund_code, day, payment_ids=()):
        return [LedgerPayout("po_wait", "ESF", 2_000, "in_doubt", "", "ssc_card")]

    monkeypatch.setattr(SqlPaymentRepository, "for_reconciliation", stale)
    before = await _ledger_snapshot(ledger_uow_factory)
    result = await ledger_bus.handle(commands.ReconcileStatement(
        actor=FINANCE, fund_code="ESF", day=DAY, format="csv",
        content=statement_bytes("csv", DAY, [line(2, DAY, "po_wait", 2_000)])))
    assert (result.settled_ids, result.skipped_ids) == ([], ["po_wait"])
    assert await _ledger_snapshot(ledger_uow_factory) == before
    assert await payment_state(ledger_uow_factory, "po_wait") is PaymentState.QUEUED
