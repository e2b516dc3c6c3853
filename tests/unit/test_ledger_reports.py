"""Ledger queries and reports (ledger_svc/domain/reports.py, ledger_svc/adapters/report_files.py).

Every history here is made by the real engine (``apply_transfers``), the way the repository will
make it: the reports are checked against what the engine says the balances are.
"""

from __future__ import annotations

import csv
import io
import itertools
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger_svc.adapters import report_files
from ledger_svc.domain import payout_transfers, reports
from ledger_svc.domain.transfers import (
    Account,
    AccountRole,
    PendingStatus,
    Transfer,
    TransferCode,
    TransferFlags,
    TransferResult,
    account_id,
    apply_transfers,
    fund_accounts,
    transfer_id,
)
from skillpay.clock import SHANGHAI
from skillpay.errors import InvalidArgument

pytestmark = pytest.mark.unit

FUND = "esf-2025"
OTHER = "uif-2025"
R = AccountRole


def sh(*args) -> datetime:
    """An aware Shanghai time."""
    return datetime(*args, tzinfo=SHANGHAI)


class Book:
    """A ledger in memory, driven only through the engine; keeps every stored transfer."""

    def __init__(self, *funds: str):
        self.accounts: dict[str, Account] = {a.id: a for f in funds for a in fund_accounts(f)}
        self.transfers: dict[str, Transfer] = {}
        self.history: list[Transfer] = []
        self.pending_status: dict[str, PendingStatus] = {}

    def apply(self, batch: list[Transfer], now: datetime) -> tuple[TransferResult, ...]:
        out = apply_transfers(batch, self.accounts, self.transfers, self.pending_status, now)
        self.accounts.update(out.accounts)
        self.pending_status.update(out.pending_status)
        for t in out.created:
            self.transfers[t.id] = t
            self.history.append(t)
        return out.results

    def must(self, batch: list[Transfer], now: datetime) -> None:
        results = self.apply(batch, now)
        assert all(r is TransferResult.OK for r in results), results

    def snapshot(self) -> dict[str, Account]:
        return dict(self.accounts)


def tr(name: str, fund: str, debit: AccountRole | None, credit: AccountRole | None, amount: int,
       code: TransferCode, flags: TransferFlags = TransferFlags.NONE, pending: str = "") -> Transfer:
    return Transfer(transfer_id(name, fund), account_id(fund, debit) if debit else "",
                    account_id(fund, credit) if credit else "", amount, fund if debit else "", code, flags,
                    transfer_id(pending, fund) if pending else "", user_data=f"pay_{name}")


# The flows of transfers.py's docstring, as batches.
def allocate(name, fund, amount):
    return [tr(name, fund, R.APPROPRIATION, R.AVAILABLE, amount, TransferCode.ALLOCATION)]


def commit(name, fund, amount):
    return [tr(name, fund, R.AVAILABLE, R.PAYABLES, amount, TransferCode.COMMITMENT, TransferFlags.PENDING)]


def submit(name, fund, commitment, amount, posted=0):
    """Post the commitment (all of it, or ``posted``) and hand that to the bank, linked."""
    return [tr(name + ":post", fund, None, None, posted, TransferCode.SUBMISSION,
               TransferFlags.POST_PENDING_TRANSFER | TransferFlags.LINKED, commitment),
            tr(name, fund, R.PAYABLES, R.CLEARING, posted or amount, TransferCode.SUBMISSION)]


def void(name, fund, commitment):
    return [tr(name, fund, None, None, 0, TransferCode.RELEASE, TransferFlags.VOID_PENDING_TRANSFER, commitment)]


def settle(name, fund, amount):
    return [tr(name, fund, R.CLEARING, R.DISBURSED, amount, TransferCode.SETTLEMENT)]


def fail(name, fund, amount):
    return [tr(name, fund, R.CLEARING, R.AVAILABLE, amount, TransferCode.RELEASE)]


def give_back(name, fund, amount):
    return [tr(name, fund, R.DISBURSED, R.RETURNED, amount, TransferCode.RETURN, TransferFlags.LINKED),
            tr(name + ":back", fund, R.RETURNED, R.AVAILABLE, amount, TransferCode.RETURN)]


def recover(name, fund, amount):
    return [tr(name, fund, R.DISBURSED, R.RECOVERED, amount, TransferCode.RECOVERY, TransferFlags.LINKED),
            tr(name + ":back", fund, R.RECOVERED, R.AVAILABLE, amount, TransferCode.RECOVERY)]


def june_book() -> tuple[Book, dict[str, Account]]:
    """A month of one fund, with a payout settled at 23:59:59 on 30 June and one at 00:00:00 on
    1 July, a return, a recovery, a failure, a void and a partial post; and a second fund.
    Returns the book and the accounts as the engine had them at the start of June."""
    b = Book(FUND, OTHER)
    b.must(allocate("alloc-may", FUND, 1_000_000_00), sh(2025, 5, 20, 9))
    b.must(commit("c0", FUND, 500_00), sh(2025, 5, 31, 10))
    b.must(submit("s0", FUND, "c0", 500_00), sh(2025, 5, 31, 11))  # in transit over the month end
    b.must(allocate("alloc-other", OTHER, 9_999_00), sh(2025, 5, 31, 12))
    opening = b.snapshot()
    b.must(allocate("alloc-june", FUND, 200_000_00), sh(2025, 6, 1, 0, 0, 0))  # first instant of June
    b.must(settle("d0", FUND, 500_00), sh(2025, 6, 2, 9))
    for i, amount in enumerate((1_000_00, 2_000_00, 3_000_00, 4_000_00, 5_000_00)):
        b.must(commit(f"c{i + 1}", FUND, amount), sh(2025, 6, 3, 10, i))
    b.must(submit("s1", FUND, "c1", 1_000_00) + submit("s2", FUND, "c2", 2_000_00), sh(2025, 6, 4, 10))
    b.must(submit("s3", FUND, "c3", 3_000_00, posted=2_500_00), sh(2025, 6, 4, 11))  # 500.00 released
    b.must(void("v4", FUND, "c4"), sh(2025, 6, 5, 10))  # 4,000.00 released
    b.must(settle("d1", FUND, 1_000_00) + settle("d2", FUND, 2_000_00), sh(2025, 6, 6, 10))
    b.must(fail("f3", FUND, 2_500_00), sh(2025, 6, 7, 10))  # the bank rejected s3
    b.must(give_back("ret1", FUND, 1_000_00), sh(2025, 6, 20, 10))  # card frozen: money came back
    b.must(recover("rec2", FUND, 300_00), sh(2025, 6, 25, 10))  # X2: 300.00 recovered of d2
    b.must(submit("s5", FUND, "c5", 5_000_00), sh(2025, 6, 30, 12))
    b.must(commit("c6", FUND, 700_00) + commit("c7", FUND, 800_00), sh(2025, 6, 30, 13))
    b.must(submit("s6", FUND, "c6", 700_00), sh(2025, 6, 30, 14))
    b.must(settle("d6", FUND, 700_00), sh(2025, 6, 30, 23, 59, 59))  # last second of June
    b.must(settle("d5", FUND, 5_000_00), sh(2025, 7, 1, 0, 0, 0))  # first instant of July
    b.must(allocate("alloc-other-june", OTHER, 1_00), sh(2025, 6, 15, 8))
    return b, opening


# ------------------------------------------------------------------------------- trial balance


@pytest.mark.policy("F1")
def test_F1_trial_balance_of_an_engine_history_balances_per_fund_and_overall():
    b, _ = june_book()
    tb = reports.trial_balance(b.accounts.values())
    assert tb.balanced and tb.differences == ()
    assert [lt.ledger for lt in tb.ledgers] == [FUND, OTHER]
    assert all(lt.balanced for lt in (*tb.ledgers, tb.overall))
    assert tb.overall.debits_posted == sum(lt.debits_posted for lt in tb.ledgers)
    assert tb.overall.debits_pending == 800_00  # c7 is still reserved
    lines = {line.account_id: line for line in tb.accounts}
    assert lines[account_id(FUND, R.APPROPRIATION)].balance == 1_200_000_00  # debit-normal
    posted_commitments = 500_00 + 1_000_00 + 2_000_00 + 2_500_00 + 5_000_00 + 700_00
    came_back = 2_500_00 + 1_000_00 + 300_00  # failed s3, returned, recovered
    assert lines[account_id(FUND, R.AVAILABLE)].balance == 1_200_000_00 - posted_commitments + came_back
    assert lines[account_id(FUND, R.AVAILABLE)].pending == -800_00
    assert lines[account_id(FUND, R.PAYABLES)].pending == 800_00
    assert lines[account_id(OTHER, R.APPROPRIATION)].balance == 10_000_00


@pytest.mark.policy("F1")
def test_F1_trial_balance_names_a_fund_whose_debits_and_credits_differ():
    b, _ = june_book()
    accounts = b.snapshot()
    avail = accounts[account_id(OTHER, R.AVAILABLE)]
    accounts[avail.id] = replace(avail, credits_posted=avail.credits_posted + 7)  # a lost debit
    payables = accounts[account_id(FUND, R.PAYABLES)]
    accounts[payables.id] = replace(payables, credits_pending=payables.credits_pending - 3)
    tb = reports.trial_balance(accounts.values())
    assert not tb.balanced
    found = {(d.rule, d.kind, d.ledger, d.amount) for d in tb.differences}
    assert found == {("F1", "posted_unbalanced", OTHER, -7), ("F1", "posted_unbalanced", "", -7),
                     ("F1", "pending_unbalanced", FUND, 3), ("F1", "pending_unbalanced", "", 3)}
    assert [lt.balanced for lt in tb.ledgers] == [False, False]


@pytest.mark.policy("F2")
def test_F2_trial_balance_flags_an_overdrawn_guarded_account_even_when_the_books_balance():
    accounts = {a.id: a for a in fund_accounts(FUND)}
    avail, approp = accounts[account_id(FUND, R.AVAILABLE)], accounts[account_id(FUND, R.APPROPRIATION)]
    payables, returned = accounts[account_id(FUND, R.PAYABLES)], accounts[account_id(FUND, R.RETURNED)]
    # Storage went wrong: available paid out 150 of the 100 it received (and the unflagged returned
    # account shows -5), while every debit still has its credit.
    accounts[approp.id] = replace(approp, debits_posted=100)
    accounts[avail.id] = replace(avail, credits_posted=100, debits_posted=150)
    accounts[returned.id] = replace(returned, debits_posted=5)
    accounts[payables.id] = replace(payables, credits_posted=155)
    tb = reports.trial_balance(accounts.values())
    assert all(lt.balanced for lt in tb.ledgers) and tb.overall.balanced
    assert not tb.balanced
    assert [(d.rule, d.kind, d.account_id, d.amount) for d in tb.differences] == [
        ("F2", "negative_balance", avail.id, 50)]
    lines = {line.account_id: line for line in tb.accounts}
    assert lines[avail.id].balance == -50 and lines[returned.id].balance == -5


@pytest.mark.policy("F2")
def test_F2_a_pending_reservation_beyond_credits_counts_as_overdrawn():
    accounts = {a.id: a for a in fund_accounts(FUND)}
    avail = accounts[account_id(FUND, R.AVAILABLE)]
    accounts[avail.id] = replace(avail, credits_posted=100, debits_pending=101)
    payables = accounts[account_id(FUND, R.PAYABLES)]
    accounts[payables.id] = replace(payables, credits_pending=101)
    approp = accounts[account_id(FUND, R.APPROPRIATION)]
    accounts[approp.id] = replace(approp, debits_posted=100)
    tb = reports.trial_balance(accounts.values())
    assert [(d.kind, d.account_id, d.amount) for d in tb.differences] == [("negative_balance", avail.id, 1)]


# ------------------------------------------------------------------------------ fund statement


@pytest.mark.policy("F2", "F3", "X2")
def test_F2_F3_june_statement_figures_with_a_return_a_recovery_and_the_midnight_boundary():
    b, opening_engine = june_book()
    starts_at, _ = reports.period_bounds(date(2025, 6, 1), date(2025, 6, 30))
    opening = reports.balances_as_of(b.accounts.values(), b.history, starts_at)
    assert opening == opening_engine  # undoing the transfers gives what the engine had
    july_start = sh(2025, 7, 1)
    closing_engine = reports.balances_as_of(b.accounts.values(), b.history, july_start)

    s = reports.fund_statement(FUND, date(2025, 6, 1), date(2025, 6, 30), opening.values(), b.history,
                               closing_accounts=closing_engine.values())
    assert (s.starts_at, s.ends_at) == (sh(2025, 6, 1), sh(2025, 7, 1))
    assert s.differences == () and s.balanced

    assert s.opening == reports.FundPosition(appropriated=1_000_000_00, available=1_000_000_00 - 500_00,
                                             commitments=0, payables=0, in_transit=500_00, disbursed=0)
    assert s.opening.funds_held == 1_000_000_00
    m = s.movements
    assert m.appropriations == 200_000_00  # the allocation at 00:00:00 on 1 June is in
    assert m.commitments_created == 1_000_00 + 2_000_00 + 3_000_00 + 4_000_00 + 5_000_00 + 700_00 + 800_00
    assert m.commitments_posted == 1_000_00 + 2_000_00 + 2_500_00 + 5_000_00 + 700_00
    assert m.commitments_released == 500_00 + 4_000_00  # the partial post's rest and the void
    assert m.submitted == m.commitments_posted
    assert m.disbursed == 500_00 + 1_000_00 + 2_000_00 + 700_00  # d6 at 23:59:59 in, d5 at 00:00:00 out
    assert m.failed == 2_500_00
    assert m.released == 500_00 + 4_000_00 + 2_500_00
    assert (m.returned, m.recovered) == (1_000_00, 300_00)
    assert (m.other_held, m.other_count) == (0, 0)

    c = s.closing
    assert c.appropriated == 1_200_000_00
    assert c.disbursed == 4_200_00 - 1_000_00 - 300_00
    assert c.in_transit == 5_000_00  # s5 settles only in July
    assert c.commitments == 800_00
    assert c.payables == 0 and c.returned == 0 and c.recovered == 0
    assert c.funds_held == s.opening.funds_held + m.appropriations - m.disbursed + m.returned + m.recovered
    assert c.funds_held == c.available + c.payables + c.in_transit + c.returned + c.recovered
    assert c.free_to_commit == c.available - 800_00

    codes = {ct.code: ct for ct in s.by_code}
    assert codes[TransferCode.SETTLEMENT].posted == m.disbursed and codes[TransferCode.SETTLEMENT].count == 4
    assert codes[TransferCode.RETURN].posted == 2 * 1_000_00 and codes[TransferCode.RECOVERY].posted == 2 * 300_00
    assert codes[TransferCode.RELEASE].voided == 4_000_00 and codes[TransferCode.RELEASE].posted == 2_500_00
    assert codes[TransferCode.COMMITMENT].pending == m.commitments_created
    # Everything before June, the other fund's and d5 (1 July) are left out, and counted.
    in_june = [t for t in b.history if t.ledger == FUND and sh(2025, 6, 1) <= t.timestamp < sh(2025, 7, 1)]
    assert s.transfer_count == len(in_june) and s.excluded == len(b.history) - len(in_june)


@pytest.mark.policy("F2")
def test_F2_the_next_period_opens_where_the_last_one_closed_and_takes_the_midnight_settlement():
    b, _ = june_book()
    june_end = reports.balances_as_of(b.accounts.values(), b.history, sh(2025, 7, 1))
    june = reports.fund_statement(FUND, date(2025, 6, 1), date(2025, 6, 30),
                                  reports.balances_as_of(b.accounts.values(), b.history, sh(2025, 6, 1)).values(),
                                  b.history)
    july = reports.fund_statement(FUND, date(2025, 7, 1), date(2025, 7, 1), june_end.values(), b.history,
                                  closing_accounts=b.accounts.values())
    assert july.opening == june.closing
    assert july.movements.disbursed == 5_000_00 and july.transfer_count == 1
    assert july.closing.in_transit == 0 and july.balanced


@pytest.mark.policy("F2")
def test_F2_a_closing_that_does_not_follow_from_the_transfers_is_reported_not_raised():
    b, opening = june_book()
    closing = b.snapshot()  # taken after d5 (1 July): June's closing must not include it
    s = reports.fund_statement(FUND, date(2025, 6, 1), date(2025, 6, 30), opening.values(), b.history,
                               closing_accounts=closing.values())
    assert not s.balanced
    kinds = {(d.kind, d.account_id, d.amount) for d in s.differences}
    assert ("closing_mismatch", account_id(FUND, R.DISBURSED), 5_000_00) in kinds
    assert ("closing_mismatch", account_id(FUND, R.CLEARING), -5_000_00) in kinds
    assert {d.rule for d in s.differences} == {"F2"}
    # The identity check names the figures that do not add up.
    assert any(d.kind == "movement_mismatch" and "in_transit" in d.description and d.amount == -5_000_00
               for d in s.differences)


def test_a_post_of_a_commitment_made_before_the_period_releases_the_rest_when_the_pending_is_given():
    b = Book(FUND)
    b.must(allocate("a", FUND, 10_000), sh(2025, 6, 1, 9))
    b.must(commit("c", FUND, 6_000), sh(2025, 6, 1, 10))
    opening = b.snapshot()
    b.must(submit("s", FUND, "c", 6_000, posted=4_000), sh(2025, 6, 2, 10))
    earlier = [t for t in b.history if t.timestamp < sh(2025, 6, 2)]
    s = reports.fund_statement(FUND, date(2025, 6, 2), date(2025, 6, 2), opening.values(), b.history,
                               pending_transfers=earlier, closing_accounts=b.accounts.values())
    assert s.balanced and s.opening.commitments == 6_000 and s.closing.commitments == 0
    assert (s.movements.commitments_posted, s.movements.commitments_released) == (4_000, 2_000)
    # Without the pending transfer the report cannot know the rest, and says so.
    s2 = reports.fund_statement(FUND, date(2025, 6, 2), date(2025, 6, 2), opening.values(), b.history,
                                closing_accounts=b.accounts.values())
    assert not s2.balanced


def test_bad_periods_and_fund_codes_are_client_errors_naming_the_fields():
    with pytest.raises(InvalidArgument) as bad:
        reports.fund_statement(FUND, date(2025, 7, 1), date(2025, 6, 30), [], [])
    assert {v.field for v in bad.value.violations} == {"period_start", "period_end"}
    with pytest.raises(InvalidArgument) as bad:
        reports.fund_statement("x" * 5000, date(2025, 6, 1), date(2025, 6, 30), [], [])
    assert [v.field for v in bad.value.violations] == ["fund"] and "xxxx" not in str(bad.value)
    with pytest.raises(InvalidArgument) as bad:  # every offending field at once
        reports.fund_statement(" ", date(2025, 7, 1), "2025-07-02", [], [])
    assert [v.field for v in bad.value.violations] == ["fund", "period_end"]
    with pytest.raises(InvalidArgument) as bad:
        reports.daily_series([], date(2000, 1, 1), date(2025, 1, 1))
    assert [v.field for v in bad.value.violations] == ["period_end"]
    with pytest.raises(InvalidArgument) as bad:
        reports.period_bounds(datetime(2025, 6, 1, tzinfo=UTC), "2025-06-30")
    assert {v.field for v in bad.value.violations} == {"period_start", "period_end"}
    for far_off in (date(1, 1, 1), date(9999, 12, 31)):  # instants of such days overflow: refused first
        with pytest.raises(InvalidArgument) as bad:
            reports.period_bounds(far_off, far_off)
        assert {v.field for v in bad.value.violations} == {"period_start", "period_end"}


@pytest.mark.policy("F3", "X2")
def test_F3_X2_statement_of_payouts_built_by_the_service_s_own_transfer_builders():
    """The flows as ``payout_transfers`` builds them (what the service will post) are classified as
    the statement expects: one payout settled, one released before and one after submission, one
    returned, one recovered."""
    b = Book(FUND)
    day = sh(2025, 6, 10, 9)
    b.must(payout_transfers.allocation(FUND, "req-1", 100_000), day)
    for p, amount in (("p1", 1_000), ("p2", 2_000), ("p3", 3_000), ("p4", 4_000)):
        b.must(payout_transfers.commitment(FUND, p, amount), day)
    b.must(payout_transfers.release_before_submission(FUND, "p2"), day)
    for p, amount in (("p1", 1_000), ("p3", 3_000), ("p4", 4_000)):
        b.must(payout_transfers.submission(FUND, p, amount), day)
    b.must(payout_transfers.release_after_submission(FUND, "p3", 3_000), day)
    b.must(payout_transfers.settlement(FUND, "p1", 1_000) + payout_transfers.settlement(FUND, "p4", 4_000), day)
    b.must(payout_transfers.returned(FUND, "p4", 4_000), day + timedelta(days=1))
    b.must(payout_transfers.recovery(FUND, "case-9", 600), day + timedelta(days=2))
    s = reports.fund_statement(FUND, date(2025, 6, 1), date(2025, 6, 30), fund_accounts(FUND), b.history,
                               closing_accounts=b.accounts.values())
    assert s.balanced
    m = s.movements
    assert (m.appropriations, m.commitments_created, m.commitments_posted, m.commitments_released) == (
        100_000, 10_000, 8_000, 2_000)
    assert (m.submitted, m.disbursed, m.failed, m.released, m.returned, m.recovered, m.other_count) == (
        8_000, 5_000, 3_000, 5_000, 4_000, 600, 0)
    assert s.closing.disbursed == 5_000 - 4_000 - 600 and s.closing.in_transit == 0
    assert s.closing.funds_held == 100_000 - 400 == s.closing.available


# -------------------------------------------------------------------------------- daily series


def test_daily_series_per_shanghai_day_with_the_midnight_boundary():
    b, _ = june_book()
    days = reports.daily_series(b.history, date(2025, 6, 29), date(2025, 7, 1), fund=FUND)
    assert [d.day for d in days] == [date(2025, 6, 29), date(2025, 6, 30), date(2025, 7, 1)]
    assert [(d.disbursed, d.in_transit, d.released, d.returned) for d in days] == [
        (0, 0, 0, 0),
        (700_00, 5_000_00, 0, 0),  # s5 and s6 submitted, d6 settled at 23:59:59
        (5_000_00, 0, 0, 0),  # d5 at 00:00:00 belongs to 1 July
    ]
    june = reports.daily_series(b.history, date(2025, 6, 1), date(2025, 6, 30), fund=FUND)
    assert len(june) == 30 and june[0].in_transit == 500_00  # s0 from May carried in
    assert sum(d.disbursed for d in june) == 4_200_00
    assert sum(d.released for d in june) == 500_00 + 4_000_00 + 2_500_00
    assert sum(d.returned for d in june) == 1_000_00 + 300_00
    # In transit at each day's end is clearing's balance as the engine had it then.
    for d in june:
        end_of_day = reports.balances_as_of(b.accounts.values(), b.history, reports.day_start(d.day + timedelta(1)))
        assert d.in_transit == end_of_day[account_id(FUND, R.CLEARING)].credit_balance


def test_daily_series_from_the_period_only_with_an_opening_in_transit():
    b, _ = june_book()
    june_only = [t for t in b.history if t.timestamp >= sh(2025, 6, 1)]
    days = reports.daily_series(june_only, date(2025, 6, 1), date(2025, 6, 3), fund=FUND, opening_in_transit=500_00)
    assert [d.in_transit for d in days] == [500_00, 0, 0]


# ------------------------------------------------------------------------- property (hypothesis)

# Weighted so that most histories carry payouts through every stage of the flow.
_OPS = ("allocate", "payout", "payout", "commit", "commit", "commit", "submit", "submit", "partial", "void", "settle", "settle",
        "settle", "fail", "return", "recover", "correct", "retry", "overdraw")


@st.composite
def histories(draw):
    """A random sequence of operations over two funds, at increasing times spread over a few
    Shanghai days. ``share`` sizes an operation against the balance it draws on (above 100%: the
    engine refuses it), so most operations go through and some do not."""
    steps = draw(st.lists(st.tuples(st.sampled_from(_OPS), st.sampled_from((FUND, OTHER)),
                                    st.integers(1, 50_000), st.integers(1, 110), st.integers(0, 20),
                                    st.integers(0, 5 * 60)), min_size=5, max_size=50))
    boundary = draw(st.integers(0, 4))
    return steps, boundary


@pytest.mark.policy("F1", "F2")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_F1_F2_property_closing_is_opening_plus_movements_and_the_books_always_balance(case):
    steps, boundary_day = case
    b = Book(FUND, OTHER)
    start = date(2025, 6, 1)
    period_start = start + timedelta(days=boundary_day)
    boundary = reports.day_start(period_start)
    now = sh(2025, 6, 1, 0, 0, 0)
    opening = None
    pendings: dict[str, list[str]] = {FUND: [], OTHER: []}
    b.must(allocate("seed", FUND, 1_000_000) + allocate("seed", OTHER, 500_000), sh(2025, 5, 31, 12))
    for n, (op, fund, amount, share, pick, minutes) in enumerate(steps):
        now += timedelta(minutes=minutes)
        if opening is None and now >= boundary:
            opening = b.snapshot()
        if op == "retry":  # a stored lone transfer asked again: EXISTS, nothing happens twice
            alone = [t for t in b.history if not t.flags & TransferFlags.LINKED]
            if alone:
                assert b.apply([replace(alone[pick % len(alone)], timestamp=None)], now) == (TransferResult.EXISTS,)
            continue
        *before, batch = _batches(b, op, fund, f"{op}{n}", amount, share, pick, pendings[fund])
        for earlier in before:
            b.apply(earlier, now)
        results = b.apply(batch, now)
        event(f"{op}: {'ok' if results and results[-1] is TransferResult.OK else 'refused'}")
        tb = reports.trial_balance(b.accounts.values())
        assert tb.balanced, tb.differences  # F1 and F2 after every batch
    if opening is None:
        opening = b.snapshot()
    end = max(now.astimezone(SHANGHAI).date(), period_start)
    closing = reports.balances_as_of(b.accounts.values(), b.history, reports.day_start(end + timedelta(days=1)))
    assert closing == b.accounts  # nothing after the end
    assert reports.balances_as_of(b.accounts.values(), b.history, boundary) == opening
    for fund in (FUND, OTHER):
        s = reports.fund_statement(fund, period_start, end, opening.values(), b.history,
                                   pending_transfers=b.history, closing_accounts=closing.values())
        assert s.differences == (), s.differences
        m = s.movements
        assert s.closing.funds_held == (s.opening.funds_held + m.appropriations - m.disbursed + m.returned
                                        + m.recovered + m.other_held)
        assert s.closing.funds_held == (s.closing.available + s.closing.payables + s.closing.in_transit
                                        + s.closing.returned + s.closing.recovered)
        days = reports.daily_series(b.history, period_start, end, fund=fund)
        assert days[-1].in_transit == s.closing.in_transit
        assert sum(d.disbursed for d in days) == m.disbursed
        assert sum(d.released for d in days) == m.released


def _batches(b: Book, op: str, fund: str, name: str, amount: int, share: int, pick: int,
             pendings: list[str]) -> list[list[Transfer]]:
    """The batches of one random operation; ``share`` sizes it against the balance it draws on."""

    def part(role: AccountRole) -> int:
        a = b.accounts[account_id(fund, role)]
        return max(1, (a.credits_posted - a.debits_posted - a.debits_pending) * share // 100)

    open_ones = [p for p in pendings if b.pending_status.get(transfer_id(p, fund)) is PendingStatus.PENDING]
    chosen = open_ones[pick % len(open_ones)] if open_ones else "none"
    reserved = b.transfers[transfer_id(chosen, fund)].amount if open_ones else 1
    if op == "allocate":
        return [allocate(name, fund, amount)]
    if op == "payout":  # commit, submit and settle one payout, each its own batch
        paid = part(R.AVAILABLE)
        return [commit(name, fund, paid), submit(name + ":s", fund, name, paid), settle(name + ":d", fund, paid)]
    if op == "commit":
        pendings.append(name)
        return [commit(name, fund, part(R.AVAILABLE))]
    if op == "submit":
        return [submit(name, fund, chosen, reserved)]
    if op == "partial":
        return [submit(name, fund, chosen, 0, posted=max(1, reserved * share // 100))]
    if op == "void":
        return [void(name, fund, chosen)]
    if op in ("settle", "fail"):
        return [(settle if op == "settle" else fail)(name, fund, part(R.CLEARING))]
    if op in ("return", "recover"):
        return [(give_back if op == "return" else recover)(name, fund, part(R.DISBURSED))]
    if op == "correct":  # outside the standard flows: reported as "other"
        return [[tr(name, fund, R.DISBURSED, R.CLEARING, part(R.DISBURSED), TransferCode.CORRECTION)]]
    assert op == "overdraw"  # F2: refused by the engine
    return [[tr(name, fund, R.AVAILABLE, R.CLEARING, 10**13, TransferCode.CORRECTION)]]


# ------------------------------------------------------------------------------------ the files


def june_statement() -> tuple[Book, reports.FundStatement]:
    b, opening = june_book()
    return b, reports.fund_statement(FUND, date(2025, 6, 1), date(2025, 6, 30), opening.values(), b.history)


@given(st.integers(-(10**16), 10**16))
def test_yuan_is_formatted_exactly_from_integer_fen(fen):
    text = report_files.yuan(fen)
    assert Decimal(text) * 100 == fen and text.count(".") == 1 and len(text.split(".")[1]) == 2
    assert report_files.yuan_decimal(fen) == Decimal(fen) / 100


def test_yuan_examples_and_no_floats():
    assert [report_files.yuan(v) for v in (0, 5, -5, 100, 123456, -100001, 10**14)] == [
        "0.00", "0.05", "-0.05", "1.00", "1234.56", "-1000.01", "1000000000000.00"]
    with pytest.raises(TypeError):
        report_files.yuan(12.5)
    with pytest.raises(TypeError):
        report_files.yuan(True)


def _read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese headers as UTF-8
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.policy("F3", "C8")
def test_F3_C8_statement_csv_read_back_with_csv(tmp_path):
    b, s = june_statement()
    report_files.write_statement_csv(s, iter(b.history), tmp_path / "summary.csv", tmp_path / "transfers.csv")

    summary = {row["键 Key"]: row for row in _read_csv(tmp_path / "summary.csv")}
    fen, yuan_col = "金额(分) Amount (fen)", "金额(元) Amount (yuan)"
    assert FUND in summary["statement"]["项目 Item"] and "2025-06-30" in summary["statement"]["项目 Item"]
    assert int(summary["opening.funds_held"][fen]) == s.opening.funds_held
    assert int(summary["closing.in_transit"][fen]) == s.closing.in_transit == 5_000_00
    assert summary["closing.in_transit"][yuan_col] == "5000.00"
    assert int(summary["movements.disbursed"][fen]) == s.movements.disbursed
    assert int(summary["movements.returned"][fen]) == 1_000_00 and summary["movements.recovered"][yuan_col] == "300.00"
    assert int(summary["by_code.settlement.count"][fen]) == 4 and summary["by_code.settlement.count"][yuan_col] == ""
    assert summary["check.differences"][fen] == "0"
    for row in summary.values():
        if row[yuan_col]:
            assert Decimal(row[yuan_col]) * 100 == int(row[fen])

    rows = _read_csv(tmp_path / "transfers.csv")
    in_june = list(reports.transfers_of(s, b.history))
    assert len(rows) == s.transfer_count == len(in_june)  # C8: every transfer of the period, none left out
    assert [r["转账号 Transfer id"] for r in rows] == [t.id for t in in_june]
    for row in rows:  # F3: each payment names its fund source, date and amount
        assert row["资金来源 Fund"] == FUND and row["日期 Date"].startswith("2025-06-")
        assert Decimal(row[yuan_col]) * 100 == int(row[fen]) > 0
    settled = [r for r in rows if r["类别 Code"] == "settlement"]
    assert sum(int(r[fen]) for r in settled) == s.movements.disbursed
    d6 = next(r for r in rows if r["转账号 Transfer id"] == transfer_id("d6", FUND))
    assert (d6["日期 Date"], d6["时间 Time (Asia/Shanghai)"]) == ("2025-06-30", "2025-06-30T23:59:59+08:00")
    assert transfer_id("d5", FUND) not in {r["转账号 Transfer id"] for r in rows}
    kinds = {r["类型 Kind"] for r in rows}
    assert kinds == {"posted", "pending", "post_pending", "void_pending"}


def test_transfers_csv_is_streamed_from_a_generator():
    def endless():
        n = 0
        while True:
            n += 1
            yield Transfer(f"t{n}", "a:available", "a:payables", n, "a", TransferCode.COMMITMENT,
                           timestamp=sh(2025, 6, 1, 12))
    chunks = list(itertools.islice(report_files.iter_transfers_csv(endless()), 4))  # would hang if it collected
    assert chunks[0].startswith("\ufeff时间") and len(chunks) == 4
    assert chunks[3].split(",")[8:10] == ["3", "0.03"]


def test_text_cells_cannot_become_spreadsheet_formulas(tmp_path):
    t = Transfer("t1", "a:available", "a:payables", 1, "a", TransferCode.COMMITMENT, user_data="=HYPERLINK(1)",
                 timestamp=sh(2025, 6, 1, 12))
    text = "".join(report_files.iter_transfers_csv([t]))
    row = next(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert row["业务参考 Reference"] == "'=HYPERLINK(1)"


@pytest.mark.policy("F3", "C8")
def test_F3_C8_statement_xlsx_read_back_with_openpyxl(tmp_path):
    from openpyxl import load_workbook

    b, s = june_statement()
    path = tmp_path / "statement.xlsx"
    report_files.write_statement_xlsx(s, (t for t in b.history), path)
    wb = load_workbook(path)
    assert wb.sheetnames == [report_files.SUMMARY_SHEET, report_files.TRANSFERS_SHEET]

    summary = wb[report_files.SUMMARY_SHEET]
    assert summary.freeze_panes == "A2"
    assert [c.value for c in summary[1]] == list(report_files.SUMMARY_HEADER)
    assert summary.column_dimensions["B"].width == 60
    by_key = {row[0].value: row for row in summary.iter_rows(min_row=2)}
    for key, value in (("opening.funds_held", s.opening.funds_held), ("closing.funds_held", s.closing.funds_held),
                       ("movements.disbursed", s.movements.disbursed), ("movements.released", s.movements.released),
                       ("movements.recovered", s.movements.recovered), ("closing.commitments", 800_00)):
        row = by_key[key]
        assert row[2].value == value and row[2].number_format == report_files.FEN_FORMAT
        assert round(row[3].value * 100) == value and row[3].number_format == report_files.YUAN_FORMAT
    assert by_key["by_code.settlement.count"][2].value == 4 and by_key["by_code.settlement.count"][3].value is None

    detail = wb[report_files.TRANSFERS_SHEET]
    assert detail.freeze_panes == "A2"
    header = [c.value for c in detail[1]]
    assert header == list(report_files.TRANSFER_HEADER)
    col = {name: i for i, name in enumerate(header)}
    rows = list(detail.iter_rows(min_row=2))
    assert len(rows) == s.transfer_count  # C8
    fen = col["金额(分) Amount (fen)"]
    yuan_i = col["金额(元) Amount (yuan)"]
    assert all(round(r[yuan_i].value * 100) == r[fen].value for r in rows)
    by_code: dict[str, int] = {}
    for r in rows:
        if r[col["类型 Kind"]].value in ("posted", "post_pending"):
            by_code[r[col["类别 Code"]].value] = by_code.get(r[col["类别 Code"]].value, 0) + r[fen].value
    assert by_code == {ct.code.name.lower(): ct.posted for ct in s.by_code if ct.posted}
    first = rows[0]
    assert first[col["时间 Time (Asia/Shanghai)"]].value == datetime(2025, 6, 1, 0, 0, 0)  # Shanghai wall time
    assert first[col["时间 Time (Asia/Shanghai)"]].number_format == report_files.TIME_FORMAT
    assert all(r[col["资金来源 Fund"]].value == FUND for r in rows)  # F3


def test_chart_png_and_svg(tmp_path):
    b, _ = june_book()
    days = reports.daily_series(b.history, date(2025, 6, 1), date(2025, 6, 30), fund=FUND)
    png = report_files.render_daily_chart(days, FUND, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        img.verify()
    with Image.open(io.BytesIO(png)) as img:
        assert img.size[0] >= 600 and img.size[1] >= 400
        assert len(img.convert("RGB").getcolors(maxcolors=100_000) or ()) > 10  # something was drawn
    svg = report_files.render_daily_chart(days, FUND, "svg")
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert b"Disbursed" in svg and b"In transit" in svg and b"Failed / released" in svg
    assert report_files.render_daily_chart(days, FUND, "svg") == svg  # the same figures, the same file
    with pytest.raises(ValueError):
        report_files.render_daily_chart(days, FUND, "gif")


def test_the_exporters_import_matplotlib_and_openpyxl_only_when_used():
    code = ("import sys, ledger_svc.adapters.report_files; "
            "print(sorted(m for m in ('matplotlib', 'openpyxl') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
