"""The transfers each payout step makes, applied by the real engine (F2, F3, X2)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ledger_svc.domain import payout_transfers as flow
from ledger_svc.domain.transfers import (
    AccountRole,
    PendingStatus,
    TransferResult,
    account_id,
    apply_transfers,
    balances_from_transfers,
    fund_accounts,
)

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
FUND = "esf-2026"


class Ledger:
    """The engine's state between batches, as a repository would keep it."""

    def __init__(self, *funds: str):
        self.accounts = {a.id: a for f in funds for a in fund_accounts(f)}
        self.transfers = {}
        self.pending = {}

    def apply(self, batch):
        outcome = apply_transfers(batch, self.accounts, self.transfers, self.pending, NOW)
        self.accounts.update(outcome.accounts)
        self.transfers.update({t.id: t for t in outcome.created})
        self.pending.update(outcome.pending_status)
        return outcome.results

    def balance(self, role: AccountRole, fund: str = FUND) -> int:
        return self.accounts[account_id(fund, role)].credit_balance

    def pending_on(self, role: AccountRole, fund: str = FUND) -> int:
        a = self.accounts[account_id(fund, role)]
        return a.credits_pending - a.debits_pending

    def check_books(self):
        assert sum(a.debits_posted for a in self.accounts.values()) == \
            sum(a.credits_posted for a in self.accounts.values())
        assert sum(a.debits_pending for a in self.accounts.values()) == \
            sum(a.credits_pending for a in self.accounts.values())
        recomputed = balances_from_transfers(self.accounts.values(), self.transfers.values(), self.pending)
        for a in self.accounts.values():
            assert recomputed[a.id] == (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)


def ok(results):
    assert all(r is TransferResult.OK for r in results), results


@pytest.fixture
def ledger():
    ledger = Ledger(FUND, "uif-2026")
    ok(ledger.apply(flow.allocation(FUND, "req-1", 10_000)))
    return ledger


@pytest.mark.policy("F2", "F3")
def test_a_settled_payout_moves_from_available_through_payables_and_clearing_to_disbursed(ledger):
    ok(ledger.apply(flow.commitment(FUND, "po_1", 3_000)))
    assert ledger.balance(AccountRole.AVAILABLE) == 10_000 and ledger.pending_on(AccountRole.PAYABLES) == 3_000
    ok(ledger.apply(flow.submission(FUND, "po_1", 3_000)))
    assert ledger.balance(AccountRole.CLEARING) == 3_000 and ledger.balance(AccountRole.PAYABLES) == 0
    assert ledger.balance(AccountRole.AVAILABLE) == 7_000
    ok(ledger.apply(flow.settlement(FUND, "po_1", 3_000)))
    assert ledger.balance(AccountRole.DISBURSED) == 3_000 and ledger.balance(AccountRole.CLEARING) == 0
    ledger.check_books()


@pytest.mark.policy("F2")
def test_approval_cannot_reserve_more_than_the_fund_has_available_counting_other_reservations(ledger):
    ok(ledger.apply(flow.commitment(FUND, "po_1", 6_000)))
    assert ledger.apply(flow.commitment(FUND, "po_2", 4_001)) == (TransferResult.EXCEEDS_CREDITS,)
    ok(ledger.apply(flow.commitment(FUND, "po_2", 4_000)))
    ledger.check_books()


@pytest.mark.policy("F2")
def test_another_funds_budget_never_covers_a_payout(ledger):
    assert ledger.apply(flow.commitment("uif-2026", "po_1", 1)) == (TransferResult.EXCEEDS_CREDITS,)


def test_every_step_replayed_changes_nothing(ledger):
    steps = [flow.commitment(FUND, "po_1", 3_000), flow.submission(FUND, "po_1", 3_000),
             flow.settlement(FUND, "po_1", 3_000)]
    for step in steps:
        ok(ledger.apply(step))
    before = dict(ledger.accounts)
    for step in steps:
        assert set(ledger.apply(step)) == {TransferResult.EXISTS}
    assert ledger.accounts == before


@pytest.mark.policy("X2")
def test_a_failure_before_submission_voids_the_reservation(ledger):
    ok(ledger.apply(flow.commitment(FUND, "po_1", 3_000)))
    ok(ledger.apply(flow.release_before_submission(FUND, "po_1")))
    assert ledger.pending_on(AccountRole.PAYABLES) == 0 and ledger.balance(AccountRole.AVAILABLE) == 10_000
    assert ledger.pending[flow.commitment_id("po_1")] is PendingStatus.VOIDED
    # Once voided it can no longer be submitted: the linked pair fails together.
    assert ledger.apply(flow.submission(FUND, "po_1", 3_000)) == (
        TransferResult.PENDING_TRANSFER_ALREADY_VOIDED, TransferResult.LINKED_EVENT_FAILED)
    ledger.check_books()


@pytest.mark.policy("X2")
def test_a_failure_at_the_bank_is_a_reversing_transfer_and_a_new_attempt_pays_once(ledger):
    ok(ledger.apply(flow.commitment(FUND, "po_1", 3_000)))
    ok(ledger.apply(flow.submission(FUND, "po_1", 3_000)))
    ok(ledger.apply(flow.release_after_submission(FUND, "po_1", 3_000)))
    assert ledger.balance(AccountRole.AVAILABLE) == 10_000 and ledger.balance(AccountRole.CLEARING) == 0
    # Settling the failed attempt is impossible: nothing is in transit for it any more.
    assert ledger.apply(flow.settlement(FUND, "po_1", 3_000)) == (TransferResult.EXCEEDS_CREDITS,)
    for step in (flow.commitment, flow.submission, flow.settlement):
        ok(ledger.apply(step(FUND, "po_2", 3_000)))
    assert ledger.balance(AccountRole.DISBURSED) == 3_000 and ledger.balance(AccountRole.AVAILABLE) == 7_000
    ledger.check_books()


@pytest.mark.policy("X2")
def test_a_return_and_a_recovery_make_the_money_available_again(ledger):
    for step in (flow.commitment, flow.submission, flow.settlement):
        ok(ledger.apply(step(FUND, "po_1", 3_000)))
        ok(ledger.apply(step(FUND, "po_2", 2_000)))
    ok(ledger.apply(flow.returned(FUND, "po_1", 3_000)))
    ok(ledger.apply(flow.recovery(FUND, "rec_1", 2_000)))
    assert ledger.balance(AccountRole.DISBURSED) == 0 and ledger.balance(AccountRole.AVAILABLE) == 10_000
    returned = ledger.accounts[account_id(FUND, AccountRole.RETURNED)]
    assert returned.credits_posted == 3_000 and returned.credit_balance == 0
    # More than was disbursed can never be returned (F2 on disbursed).
    assert ledger.apply(flow.returned(FUND, "po_3", 1)) == (
        TransferResult.EXCEEDS_CREDITS, TransferResult.LINKED_EVENT_FAILED)
    ledger.check_books()
