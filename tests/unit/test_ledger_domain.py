"""Unit tests for ledger_svc/domain/model.py: funds (F1), journal entries (F2), payments (F3)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_svc.domain.model import (
    NON_NEGATIVE_ROLES,
    AccountRole,
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
    account_code,
    allocation,
    commitment,
    disbursement,
    entry_id_for,
    release,
)
from skillpay.errors import FailedPrecondition, InvalidArgument

pytestmark = pytest.mark.unit

FUND = "esf-2025"
REFS = {"claim_id": "clm_1", "voucher_id": "vch_1"}
OTHER_FUND = "uif-2025"


def _now() -> datetime:
    return datetime.now(timezone.utc)


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
def test_F1_the_three_named_fund_sources_exist():
    assert {t.value for t in FundType} >= {"employment_subsidy", "unemployment_insurance", "skills_upgrading"}


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


@pytest.mark.policy("F1")
def test_F1_each_fund_has_four_accounts_of_its_own():
    codes = {account_code(FUND, role) for role in AccountRole}
    assert codes == {f"{FUND}:budget", f"{FUND}:available", f"{FUND}:payable", f"{FUND}:disbursed"}
    assert not codes & {account_code(OTHER_FUND, role) for role in AccountRole}


@pytest.mark.policy("F2")
def test_F2_available_and_payable_are_the_guarded_accounts():
    assert NON_NEGATIVE_ROLES == {AccountRole.AVAILABLE, AccountRole.PAYABLE}


# ---------------------------------------------------------------------------------------- journal entries (F2)


def _entry(*postings: Posting, fund: str = FUND) -> JournalEntry:
    return JournalEntry("je_1", fund, "test", "ref", tuple(postings), _now())


def _acct(role: AccountRole, fund: str = FUND) -> str:
    return account_code(fund, role)


@pytest.mark.policy("F2")
def test_F2_balanced_entry_is_accepted_including_split_postings():
    e = _entry(Posting(_acct(AccountRole.BUDGET), debit_fen=300),
               Posting(_acct(AccountRole.AVAILABLE), credit_fen=100),
               Posting(_acct(AccountRole.AVAILABLE), credit_fen=200))
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
        _entry(Posting(_acct(AccountRole.PAYABLE), debit_fen=100),
               Posting(_acct(AccountRole.DISBURSED, OTHER_FUND), credit_fen=100))


@pytest.mark.policy("F2")
def test_F2_fund_code_prefix_is_not_enough_to_post_to_a_similarly_named_fund():
    with pytest.raises(UnbalancedEntry, match="F2"):
        _entry(Posting(_acct(AccountRole.BUDGET), debit_fen=1),
               Posting(_acct(AccountRole.AVAILABLE, FUND + "x"), credit_fen=1))


@pytest.mark.policy("F2")
def test_F2_unbalanced_entry_is_a_value_error():
    assert issubclass(UnbalancedEntry, ValueError)


# ---------------------------------------------------------------------------------------- helpers


HELPERS = [
    (allocation, "allocation", AccountRole.BUDGET, AccountRole.AVAILABLE),
    (commitment, "commitment", AccountRole.AVAILABLE, AccountRole.PAYABLE),
    (disbursement, "disbursement", AccountRole.PAYABLE, AccountRole.DISBURSED),
    (release, "release", AccountRole.PAYABLE, AccountRole.AVAILABLE),
]


@pytest.mark.policy("F2")
@pytest.mark.parametrize(("helper", "kind", "debit", "credit"), HELPERS, ids=[h[1] for h in HELPERS])
def test_F2_helper_moves_the_amount_between_the_right_accounts_of_one_fund(helper, kind, debit, credit):
    now = _now()
    e = helper(FUND, 12_345, "pay_1", now)
    assert (e.entry_id, e.fund_code, e.kind, e.reference, e.posted_at) == (entry_id_for(kind, "pay_1"), FUND, kind,
                                                                           "pay_1", now)
    assert e.postings == (Posting(_acct(debit), debit_fen=12_345), Posting(_acct(credit), credit_fen=12_345))


@pytest.mark.parametrize(("helper", "kind", "debit", "credit"), HELPERS, ids=[h[1] for h in HELPERS])
@pytest.mark.parametrize("amount", [0, -1])
def test_helper_refuses_a_non_positive_amount(helper, kind, debit, credit, amount):
    with pytest.raises(FailedPrecondition, match="positive"):
        helper(FUND, amount, "ref", _now())


@pytest.mark.parametrize(("helper", "kind", "debit", "credit"), HELPERS, ids=[h[1] for h in HELPERS])
def test_helper_refuses_a_fractional_amount(helper, kind, debit, credit):
    with pytest.raises(UnbalancedEntry, match="integer fen"):
        helper(FUND, 10.5, "ref", _now())


# ---------------------------------------------------------------------------------------- property: the ledger


class Refused(Exception):
    pass


class FakeLedger:
    """Applies JournalEntry postings to per-account totals, like JournalRepository.post.

    Refuses, and leaves every total untouched, an entry that would take an 'available' or
    'payable' account below zero (credit-normal: credits must cover debits).
    """

    GUARDED = ("available", "payable")

    def __init__(self):
        self.debits: dict[str, int] = {}
        self.credits: dict[str, int] = {}
        self.entries: list[JournalEntry] = []

    def post(self, entry: JournalEntry) -> None:
        debits, credits = dict(self.debits), dict(self.credits)
        for p in entry.postings:
            debits[p.account] = debits.get(p.account, 0) + p.debit_fen
            credits[p.account] = credits.get(p.account, 0) + p.credit_fen
        for account in set(debits) | set(credits):
            if account.rsplit(":", 1)[1] in self.GUARDED and credits.get(account, 0) - debits.get(account, 0) < 0:
                raise Refused(account)
        self.debits.update(debits)
        self.credits.update(credits)
        self.entries.append(entry)

    def balances(self, fund: str) -> FundBalances:
        def credit_balance(role: str) -> int:
            return self.credits.get(f"{fund}:{role}", 0) - self.debits.get(f"{fund}:{role}", 0)

        return FundBalances(self.debits.get(f"{fund}:budget", 0), credit_balance("available"), credit_balance("payable"),
                            credit_balance("disbursed"))

    def all_balances(self) -> dict[str, int]:
        accounts = set(self.debits) | set(self.credits)
        return {a: self.credits.get(a, 0) - self.debits.get(a, 0) for a in accounts}


OPS = {"allocate": allocation, "commit": commitment, "disburse": disbursement, "release": release}

operations = st.lists(
    st.tuples(
        st.sampled_from(sorted(OPS)),
        st.sampled_from([FUND, OTHER_FUND]),
        # small amounts so that most operations can be covered, large ones to hit the guard
        st.one_of(st.integers(1, 100), st.integers(1, 10_000_000)),
    ),
    max_size=60,
)


@pytest.mark.policy("F2")
@settings(max_examples=300, deadline=None)
@given(ops=operations)
def test_F2_property_ledger_balances_and_never_goes_negative(ops):
    ledger = FakeLedger()
    now = _now()
    # An independent model of what each operation means, per fund.
    expected = {f: dict(allocated=0, available=0, payable=0, disbursed=0) for f in (FUND, OTHER_FUND)}
    for i, (op, fund, amount) in enumerate(ops):
        entry = OPS[op](fund, amount, f"ref_{i}", now)

        # Every entry balances, is integer fen, and stays inside its own fund (F2).
        assert sum(p.debit_fen for p in entry.postings) == sum(p.credit_fen for p in entry.postings) == amount
        assert all(p.account.startswith(f"{fund}:") for p in entry.postings)
        assert entry.fund_code == fund

        model = expected[fund]
        if op == "allocate":
            should_refuse = False
            change = dict(allocated=amount, available=amount)
        elif op == "commit":
            should_refuse = amount > model["available"]
            change = dict(available=-amount, payable=amount)
        elif op == "disburse":
            should_refuse = amount > model["payable"]
            change = dict(payable=-amount, disbursed=amount)
        else:  # release
            should_refuse = amount > model["payable"]
            change = dict(payable=-amount, available=amount)

        before = ledger.all_balances()
        other = OTHER_FUND if fund == FUND else FUND
        other_before = ledger.balances(other)
        try:
            ledger.post(entry)
        except Refused:
            assert should_refuse, f"{op} {amount} was refused although the fund could cover it"
            assert ledger.all_balances() == before
        else:
            assert not should_refuse, f"{op} {amount} went through although the fund could not cover it"
            for key, delta in change.items():
                model[key] += delta
        # F2: an entry of one fund never moves another fund's balances.
        assert ledger.balances(other) == other_before

        for f in (FUND, OTHER_FUND):
            b = ledger.balances(f)
            assert b == FundBalances(expected[f]["allocated"], expected[f]["available"], expected[f]["payable"],
                                     expected[f]["disbursed"])
            assert b.allocated_fen == b.available_fen + b.payable_fen + b.disbursed_fen
            assert min(b.allocated_fen, b.available_fen, b.payable_fen, b.disbursed_fen) >= 0


@pytest.mark.policy("F2")
def test_F2_fake_ledger_refuses_committing_more_than_available():
    ledger = FakeLedger()
    now = _now()
    ledger.post(allocation(FUND, 100, "budget-2025", now))
    with pytest.raises(Refused):
        ledger.post(commitment(FUND, 101, "pay_1", now))
    ledger.post(commitment(FUND, 100, "pay_1", now))
    assert ledger.balances(FUND) == FundBalances(100, 0, 100, 0)
    ledger.post(release(FUND, 40, "pay_1", now))
    ledger.post(disbursement(FUND, 60, "pay_1", now))
    assert ledger.balances(FUND) == FundBalances(100, 40, 0, 60)


# ---------------------------------------------------------------------------------------- payments (F3)


PAYEE = Payee("李*明", "110105********1234", b"sealed")


def _payment(now: datetime, state: PaymentState = PaymentState.AWAITING_FUNDS) -> Payment:
    p = Payment("pay_1", REFS, "ssc_card", FUND, 150_000, PAYEE, now)
    p.state = state
    return p


def test_payment_starts_awaiting_funds_and_funds_committed_makes_it_pending():
    now = _now()
    p = _payment(now)
    assert p.state is PaymentState.AWAITING_FUNDS and p.attempts == 0
    p.funds_committed()
    assert p.state is PaymentState.PENDING
    p.funds_committed()
    assert p.state is PaymentState.PENDING


@pytest.mark.parametrize("state", [PaymentState.SUBMITTED, PaymentState.SETTLED, PaymentState.FAILED])
def test_funds_committed_does_not_move_a_later_payment_back(state):
    p = _payment(_now(), state)
    p.funds_committed()
    assert p.state is state


def test_submitting_moves_pending_to_submitted_and_counts_attempts():
    now = _now()
    p = _payment(now, PaymentState.PENDING)
    p.submitting(now)
    assert (p.state, p.submitted_at, p.attempts) == (PaymentState.SUBMITTED, now, 1)


@pytest.mark.parametrize("state", [s for s in PaymentState if s is not PaymentState.PENDING])
def test_submitting_only_from_pending(state):
    now = _now()
    p = _payment(now, state)
    with pytest.raises(FailedPrecondition):
        p.submitting(now)
    assert p.state is state and p.attempts == 0 and p.submitted_at is None


def test_in_doubt_only_from_submitted():
    now = _now()
    p = _payment(now, PaymentState.PENDING)
    p.in_doubt()
    assert p.state is PaymentState.PENDING
    p.submitting(now)
    p.in_doubt()
    assert p.state is PaymentState.IN_DOUBT


def test_accepted_records_bank_ref_and_resolves_in_doubt():
    now = _now()
    p = _payment(now, PaymentState.PENDING)
    p.submitting(now)
    p.in_doubt()
    p.accepted("BANK-1")
    assert (p.state, p.bank_ref) == (PaymentState.SUBMITTED, "BANK-1")
    p.accepted("")
    assert p.bank_ref == "BANK-1"


@pytest.mark.parametrize("state", [PaymentState.SUBMITTED, PaymentState.IN_DOUBT])
def test_not_received_by_bank_makes_payment_pending_again_for_a_second_attempt(state):
    now = _now()
    p = _payment(now, PaymentState.PENDING)
    p.submitting(now)
    p.state = state
    p.not_received_by_bank()
    assert p.state is PaymentState.PENDING
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


@pytest.mark.parametrize("state", [PaymentState.AWAITING_FUNDS, PaymentState.PENDING, PaymentState.FAILED])
def test_settle_refused_from_a_state_the_bank_cannot_have_paid(state):
    now = _now()
    p = _payment(now, state)
    with pytest.raises(FailedPrecondition):
        p.settle("BANK-1", now)
    assert p.state is state and p.pull_events() == []


@pytest.mark.policy("F3")
@pytest.mark.parametrize("state", [PaymentState.AWAITING_FUNDS, PaymentState.PENDING, PaymentState.SUBMITTED,
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
