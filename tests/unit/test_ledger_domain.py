"""Unit tests for ledger_svc/domain/model.py: funds (F1), journal entries (F2), payments (F3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger_svc.domain.model import (
    Fund,
    FundBalances,
    FundType,
    JournalEntry,
    Payee,
    Payment,
    PaymentFailed,
    PaymentSettled,
    PaymentState,
    Posting,
    UnbalancedEntry,
)
from ledger_svc.entrypoints import mappers
from skillpay.errors import FailedPrecondition, InvalidArgument
from skillpay.ledger.v1 import ledger_pb2

pytestmark = pytest.mark.unit

FUND = "esf-2025"
REFS = {"claim_id": "clm_1", "voucher_id": "vch_1"}
OTHER_FUND = "uif-2025"


NOW = datetime(2025, 6, 30, 18, 30, tzinfo=UTC)  # fixed: no test depends on when it runs


def _now() -> datetime:
    return NOW


def _fields(exc: InvalidArgument) -> set[str]:
    return {v.field for v in exc.violations}


# ---------------------------------------------------------------------------------------- funds (F1)


@pytest.mark.policy("F1")
@pytest.mark.parametrize("fund_type", list(FundType))
def test_F1_fund_opens_for_each_fund_source(fund_type):
    now = _now()
    fund = Fund.open("esf-2025_a.1", "  就业补助资金 ", fund_type, now)
    assert (fund.fund_code, fund.name, fund.fund_type, fund.created_at) == ("esf-2025_a.1", "就业补助资金", fund_type, now)


@pytest.mark.policy("F1")
@pytest.mark.parametrize("source", ["EMPLOYMENT_SUBSIDY", "UNEMPLOYMENT_INSURANCE", "SKILLS_UPGRADING"])
def test_F1_each_named_fund_source_opens_from_the_api_and_is_reported_back(source):
    wire = getattr(ledger_pb2, f"FUND_TYPE_{source}")
    fund = Fund.open(FUND, "资金", mappers.FUND_TYPE_FROM_PB.get(wire), _now())
    assert mappers.fund(fund, FundBalances(0, 0, 0, 0)).fund_type == wire


@pytest.mark.policy("F1")
def test_F1_fund_without_type_is_rejected():
    with pytest.raises(InvalidArgument) as info:
        Fund.open("esf", "name", None, _now())
    assert _fields(info.value) == {"fund_type"}


@pytest.mark.policy("F2")
@pytest.mark.parametrize("code", ["", "a:b", "has space", "x" * 65, "a/b"])
def test_F2_fund_code_cannot_contain_the_account_separator_or_junk(code):
    with pytest.raises(InvalidArgument) as info:
        Fund.open(code, "name", FundType.OTHER, _now())
    assert _fields(info.value) == {"fund_code"}


def test_fund_needs_a_name():
    with pytest.raises(InvalidArgument) as info:
        Fund.open("esf", "  ", FundType.OTHER, _now())
    assert _fields(info.value) == {"name"}


# ---------------------------------------------------------------------------------------- journal entries (F2)


def _entry(*postings: Posting, fund: str = FUND) -> JournalEntry:
    return JournalEntry("je_1", fund, "test", "ref", tuple(postings), _now())


def _acct(role: str, fund: str = FUND) -> str:
    """An account code of the pre-engine journal: ``<fund>:<role>``."""
    return f"{fund}:{role}"


@pytest.mark.policy("F2")
def test_F2_balanced_entry_is_accepted_including_split_postings():
    e = _entry(Posting(_acct("budget"), debit_fen=300),
               Posting(_acct("available"), credit_fen=100),
               Posting(_acct("available"), credit_fen=200))
    assert sum(p.debit_fen for p in e.postings) == sum(p.credit_fen for p in e.postings) == 300


@pytest.mark.policy("F2")
@pytest.mark.parametrize(
    ("postings", "message"),
    [
        pytest.param([Posting(f"{FUND}:budget", debit_fen=100)], "at least two", id="one-posting"),
        pytest.param([], "at least two", id="no-posting"),
        pytest.param([Posting(f"{FUND}:budget", debit_fen=100), Posting(f"{FUND}:available", credit_fen=99)],
                     "debits must equal credits", id="unbalanced"),
        pytest.param([Posting(f"{FUND}:budget", debit_fen=1.5), Posting(f"{FUND}:available", credit_fen=1.5)],
                     "integer fen", id="float-amount"),
        pytest.param([Posting(f"{FUND}:budget", debit_fen=-100), Posting(f"{FUND}:available", credit_fen=-100)],
                     "positive", id="negative"),
        pytest.param([Posting(f"{FUND}:budget", debit_fen=0), Posting(f"{FUND}:available", credit_fen=0)],
                     "positive", id="zero"),
        pytest.param([Posting(f"{FUND}:budget", debit_fen=100, credit_fen=100),
                      Posting(f"{FUND}:available", debit_fen=100, credit_fen=100)],
                     "either a positive debit or a positive credit", id="debit-and-credit-on-one-line"),
    ],
)
def test_F2_invalid_entry_is_refused(postings, message):
    with pytest.raises(UnbalancedEntry, match=message):
        _entry(*postings)


@pytest.mark.policy("F2")
def test_F2_entry_can_never_post_to_another_funds_accounts():
    with pytest.raises(UnbalancedEntry, match="F2"):
        _entry(Posting(_acct("payable"), debit_fen=100),
               Posting(_acct("disbursed", OTHER_FUND), credit_fen=100))


@pytest.mark.policy("F2")
def test_F2_fund_code_prefix_is_not_enough_to_post_to_a_similarly_named_fund():
    with pytest.raises(UnbalancedEntry, match="F2"):
        _entry(Posting(_acct("budget"), debit_fen=1),
               Posting(_acct("available", FUND + "x"), credit_fen=1))


# ---------------------------------------------------------------------------------------- payments (F3)


PAYEE = Payee("李*明", "110105********1234", b"sealed")


def _payment(now: datetime, state: PaymentState = PaymentState.AWAITING_FUNDS) -> Payment:
    p = Payment("pay_1", REFS, "ssc_card", FUND, 150_000, PAYEE, now)
    p.state = state
    return p


def test_payment_starts_awaiting_funds_and_funds_committed_makes_it_queued():
    now = _now()
    p = _payment(now)
    assert p.state is PaymentState.AWAITING_FUNDS and p.attempts == 0
    p.funds_committed()
    assert p.state is PaymentState.QUEUED
    p.funds_committed()
    assert p.state is PaymentState.QUEUED


@pytest.mark.parametrize("state", [PaymentState.SUBMITTED, PaymentState.SETTLED, PaymentState.FAILED])
def test_funds_committed_does_not_move_a_later_payment_back(state):
    p = _payment(_now(), state)
    p.funds_committed()
    assert p.state is state


def test_submitting_moves_queued_to_submitted_and_counts_attempts():
    now = _now()
    p = _payment(now, PaymentState.QUEUED)
    p.submitting(now)
    assert (p.state, p.submitted_at, p.attempts) == (PaymentState.SUBMITTED, now, 1)


@pytest.mark.parametrize("state", [s for s in PaymentState if s is not PaymentState.QUEUED])
def test_submitting_only_from_queued(state):
    now = _now()
    p = _payment(now, state)
    with pytest.raises(FailedPrecondition):
        p.submitting(now)
    assert p.state is state and p.attempts == 0 and p.submitted_at is None


def test_in_doubt_only_from_submitted():
    now = _now()
    p = _payment(now, PaymentState.QUEUED)
    p.in_doubt()
    assert p.state is PaymentState.QUEUED
    p.submitting(now)
    p.in_doubt()
    assert p.state is PaymentState.IN_DOUBT


def test_accepted_records_bank_ref_and_resolves_in_doubt():
    now = _now()
    p = _payment(now, PaymentState.QUEUED)
    p.submitting(now)
    p.in_doubt()
    p.accepted("BANK-1")
    assert (p.state, p.bank_ref) == (PaymentState.SUBMITTED, "BANK-1")
    p.accepted("")
    assert p.bank_ref == "BANK-1"


@pytest.mark.parametrize("state", [PaymentState.SUBMITTED, PaymentState.IN_DOUBT])
def test_not_received_by_bank_puts_the_payment_back_in_the_queue_for_a_second_attempt(state):
    now = _now()
    p = _payment(now, PaymentState.QUEUED)
    p.submitting(now)
    p.state = state
    p.not_received_by_bank()
    assert p.state is PaymentState.QUEUED
    p.submitting(now + timedelta(minutes=5))
    assert p.attempts == 2 and p.state is PaymentState.SUBMITTED


@pytest.mark.parametrize("state", [PaymentState.AWAITING_FUNDS, PaymentState.SETTLED, PaymentState.FAILED])
def test_not_received_by_bank_does_not_reopen_other_states(state):
    p = _payment(_now(), state)
    p.not_received_by_bank()
    assert p.state is state


@pytest.mark.policy("F3")
@pytest.mark.parametrize("state", [PaymentState.SUBMITTED, PaymentState.IN_DOUBT])
def test_F3_settle_records_payment_settled_once_with_fund_amount_and_date(state):
    now = _now()
    p = _payment(now, state)
    at = now + timedelta(hours=2)
    assert p.settle("BANK-9", at) is True
    assert (p.state, p.bank_ref, p.settled_at) == (PaymentState.SETTLED, "BANK-9", at)
    assert p.settle("BANK-10", at + timedelta(hours=1)) is False
    assert p.pull_events() == [PaymentSettled("pay_1", REFS, 150_000, FUND, "BANK-9", at)]
    assert p.bank_ref == "BANK-9" and p.settled_at == at


def test_settle_keeps_the_known_bank_ref_when_none_is_given():
    now = _now()
    p = _payment(now, PaymentState.SUBMITTED)
    p.accepted("BANK-1")
    p.settle("", now)
    (event,) = p.pull_events()
    assert event.bank_ref == "BANK-1"


@pytest.mark.parametrize("state", [PaymentState.AWAITING_FUNDS, PaymentState.QUEUED, PaymentState.FAILED])
def test_settle_refused_from_a_state_the_bank_cannot_have_paid(state):
    now = _now()
    p = _payment(now, state)
    with pytest.raises(FailedPrecondition):
        p.settle("BANK-1", now)
    assert p.state is state and p.pull_events() == []


@pytest.mark.policy("F3")
@pytest.mark.parametrize("state", [PaymentState.AWAITING_FUNDS, PaymentState.QUEUED, PaymentState.SUBMITTED,
                                   PaymentState.IN_DOUBT])
def test_F3_fail_records_payment_failed_once_with_fund_amount_and_date(state):
    now = _now()
    p = _payment(now, state)
    assert p.fail("account closed", now) is True
    assert (p.state, p.failure_reason) == (PaymentState.FAILED, "account closed")
    assert p.fail("again", now + timedelta(hours=1)) is False
    assert p.pull_events() == [PaymentFailed("pay_1", REFS, 150_000, FUND, "account closed", now)]
    assert p.failure_reason == "account closed"


def test_settled_payment_cannot_fail():
    now = _now()
    p = _payment(now, PaymentState.SUBMITTED)
    p.settle("BANK-1", now)
    p.pull_events()
    assert p.fail("late", now) is False
    assert p.state is PaymentState.SETTLED and p.failure_reason == ""
    assert p.pull_events() == []


@pytest.mark.policy("F3")
def test_F3_full_payment_path_records_exactly_one_settlement():
    now = _now()
    p = _payment(now)
    p.funds_committed()
    p.submitting(now)
    p.in_doubt()
    p.not_received_by_bank()
    p.submitting(now + timedelta(minutes=1))
    p.accepted("BANK-7")
    p.settle("BANK-7", now + timedelta(minutes=2))
    events = p.pull_events()
    assert [type(e) for e in events] == [PaymentSettled]
    assert (events[0].fund_code, events[0].amount_fen, events[0].settled_at) == (FUND, 150_000,
                                                                                  now + timedelta(minutes=2))
    assert p.attempts == 2


@pytest.mark.policy("X2")
def test_a_settled_payment_is_returned_once_with_the_banks_code_and_may_be_paid_again():
    now = _now()
    p = _payment(now, PaymentState.SETTLED)
    assert p.live
    assert p.returned("AC04", now) is True
    assert (p.state, p.failure_reason, p.live) == (PaymentState.RETURNED, "returned by bank: AC04", False)
    [event] = p.pending_events
    assert (event.payment_id, event.return_code, event.reason) == ("pay_1", "AC04", "returned by bank: AC04")
    assert p.returned("AC04", now) is False
    assert p.fail("late", now) is False and p.settle("B", now) is False


@pytest.mark.parametrize("state", [PaymentState.AWAITING_FUNDS, PaymentState.QUEUED, PaymentState.SUBMITTED,
                                   PaymentState.FAILED])
def test_only_a_settled_payment_is_returned(state):
    p = _payment(_now(), state)
    with pytest.raises(FailedPrecondition):
        p.returned("AC04", _now())
    assert p.state is state
