"""The pure transfer engine: one case per TransferResult with its boundaries, linked chains,
two-phase posts and voids, retries, F2; and what CreateTransfers refuses before the engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from datetime import datetime, timezone

import pytest

from ledger_svc.domain.transfers import (
    MAX_AMOUNT_FEN,
    MAX_TOTAL_FEN,
    Account,
    AccountFlags,
    AccountRole,
    PendingStatus,
    Transfer,
    TransferCode,
    TransferFlags,
    TransferResult,
    account_id,
    apply_transfers,
    audit_state,
    balances_from_transfers,
    fund_accounts,
)
from ledger_svc.service_layer.handlers import transfer_violations
from ledger_svc.service_layer.transfer_batcher import _split
from skillpay.actors import Actor, ActorKind

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
F, G = "ESF", "UIF"
R = TransferResult
APPR, AVAIL, PAY, CLEAR = AccountRole.APPROPRIATION, AccountRole.AVAILABLE, AccountRole.PAYABLES, AccountRole.CLEARING
PENDING, POST, VOID, LINKED = (TransferFlags.PENDING, TransferFlags.POST_PENDING_TRANSFER,
                               TransferFlags.VOID_PENDING_TRANSFER, TransferFlags.LINKED)


def a(role: AccountRole, fund: str = F) -> str:
    return account_id(fund, role)


def t(tid, debit=APPR, credit=AVAIL, amount=100, flags=TransferFlags.NONE, pending_id="", fund=F, ledger=None,
      user_data="", code=TransferCode.CORRECTION) -> Transfer:
    return Transfer(tid, a(debit, fund) if debit else "", a(credit, fund) if credit else "", amount,
                    fund if ledger is None else ledger, code, flags, pending_id, user_data)


def resolve(tid, pending_id, amount=0, flags=POST) -> Transfer:
    """A post or void naming only the pending transfer: accounts and ledger come from it."""
    return Transfer(tid, "", "", amount, "", TransferCode.SUBMISSION, flags, pending_id)


class Ledger:
    def __init__(self, *extra: Account):
        self.accounts = {x.id: x for fund in (F, G) for x in fund_accounts(fund)}
        self.accounts.update({x.id: x for x in extra})
        self.transfers: dict[str, Transfer] = {}
        self.pending: dict[str, PendingStatus] = {}
        self.recompute = True

    def apply(self, *batch: Transfer) -> list[TransferResult]:
        outcome = apply_transfers(batch, self.accounts, self.transfers, self.pending, NOW)
        # What the outcome names as changed is exactly what differs from before.
        assert {k for k, v in outcome.accounts.items() if self.accounts.get(k) != v} == set(outcome.accounts)
        self.accounts.update(outcome.accounts)
        self.transfers.update({x.id: x for x in outcome.created})
        self.pending.update(outcome.pending_status)
        self.check_books()
        return list(outcome.results)

    def acct(self, role: AccountRole, fund: str = F) -> Account:
        return self.accounts[a(role, fund)]

    def check_books(self) -> None:
        accounts = self.accounts.values()
        assert sum(x.debits_posted for x in accounts) == sum(x.credits_posted for x in accounts)
        assert sum(x.debits_pending for x in accounts) == sum(x.credits_pending for x in accounts)
        if not self.recompute:
            return
        recomputed = balances_from_transfers(accounts, self.transfers.values(), self.pending)
        assert recomputed == {x.id: (x.debits_pending, x.debits_posted, x.credits_pending, x.credits_posted)
                              for x in accounts}


def funded(amount=1000) -> Ledger:
    ledger = Ledger()
    assert ledger.apply(t("fund", APPR, AVAIL, amount, code=TransferCode.ALLOCATION)) == [R.OK]
    return ledger


# -- one case per result ------------------------------------------------------------------------
def test_ok_moves_posted_totals_and_stamps_the_ledgers_time():
    ledger = funded(1000)
    assert ledger.apply(t("x", AVAIL, PAY, 1000)) == [R.OK]  # exactly all of it: not one fen over
    assert (ledger.acct(AVAIL).debits_posted, ledger.acct(PAY).credits_posted) == (1000, 1000)
    assert ledger.transfers["x"].timestamp == NOW


@pytest.mark.policy("F2")
def test_exceeds_credits_by_one_fen_and_pending_debits_count():
    ledger = funded(1000)
    assert ledger.apply(t("over", AVAIL, PAY, 1001)) == [R.EXCEEDS_CREDITS]
    assert ledger.apply(t("p", AVAIL, PAY, 600, PENDING)) == [R.OK]
    assert ledger.apply(t("q", AVAIL, PAY, 401)) == [R.EXCEEDS_CREDITS]  # the reservation counts at once
    assert ledger.apply(t("r", AVAIL, PAY, 400)) == [R.OK]
    assert ledger.acct(AVAIL).credit_balance == 600 and "over" not in ledger.transfers


def test_exceeds_debits_for_an_account_whose_credits_must_not_exceed_debits():
    capped = Account("ESF:capped", F, AccountRole.RETURNED, AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
    ledger = Ledger(capped)
    assert ledger.apply(Transfer("d", capped.id, a(APPR), 50, F, TransferCode.RETURN)) == [R.OK]
    over = Transfer("c1", a(APPR), capped.id, 51, F, TransferCode.RETURN)
    assert ledger.apply(over) == [R.EXCEEDS_DEBITS]
    assert ledger.apply(replace(over, amount=50)) == [R.OK]


def test_overflows_past_the_largest_total():
    near = Account("ESF:near", F, AccountRole.RETURNED, credits_posted=MAX_TOTAL_FEN - 10, debits_posted=0)
    ledger = Ledger(near)
    ledger.accounts[a(APPR)] = replace(ledger.acct(APPR), debits_posted=MAX_TOTAL_FEN - 10)  # keep the books even
    ledger.recompute = False  # these totals come from no transfers here
    assert ledger.apply(Transfer("o1", a(APPR), near.id, 11, F, TransferCode.CORRECTION)) == [R.OVERFLOWS]
    assert ledger.apply(Transfer("o2", a(APPR), near.id, 10, F, TransferCode.CORRECTION)) == [R.OK]


def test_retries_exists_and_exists_with_different_fields():
    ledger = funded(1000)
    first = t("pay-1", AVAIL, PAY, 300, user_data="pay_1")
    assert ledger.apply(first) == [R.OK]
    assert ledger.apply(first) == [R.EXISTS]  # nothing happens twice
    assert ledger.acct(AVAIL).debits_posted == 300
    for changed in (replace(first, amount=301), replace(first, user_data="pay_2"), replace(first, credit_account_id=a(CLEAR)),
                    replace(first, code=TransferCode.COMMITMENT), replace(first, flags=PENDING)):
        assert ledger.apply(changed) == [R.EXISTS_WITH_DIFFERENT_FIELDS]
    assert ledger.acct(AVAIL).debits_posted == 300
    # A failed transfer is not stored: the same id may succeed once the cause is gone.
    assert ledger.apply(t("later", AVAIL, PAY, 800)) == [R.EXCEEDS_CREDITS]
    assert ledger.apply(t("more", APPR, AVAIL, 100)) == [R.OK]
    assert ledger.apply(t("later", AVAIL, PAY, 800)) == [R.OK]


@pytest.mark.parametrize(("transfer", "result"), [
    (t(""), R.ID_INVALID),
    (t("x" * 65), R.ID_INVALID),
    (t("x" * 64), R.OK),
    (t("账"), R.ID_INVALID),
    (t("x", flags=PENDING | POST, pending_id="p"), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
    (t("x", flags=POST | VOID, pending_id="p"), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE),
    (t("x", amount=0), R.AMOUNT_INVALID),
    (t("x", amount=-1), R.AMOUNT_INVALID),
    (t("x", amount=MAX_AMOUNT_FEN + 1), R.AMOUNT_INVALID),
    (t("x", amount=True), R.AMOUNT_INVALID),
    (t("x", user_data="u" * 101), R.USER_DATA_TOO_LONG),
    (t("x", user_data="u" * 100), R.OK),
    (t("x", pending_id="p"), R.PENDING_ID_MUST_BE_EMPTY),
    (t("x", flags=POST), R.PENDING_ID_REQUIRED),
    (t("x", flags=VOID), R.PENDING_ID_REQUIRED),
    (t("x", flags=POST, pending_id="p" * 65), R.ID_INVALID),
    (t("x", APPR, APPR), R.ACCOUNTS_MUST_BE_DIFFERENT),
    (Transfer("x", "ESF:nope", a(AVAIL), 1, F, TransferCode.CORRECTION), R.DEBIT_ACCOUNT_NOT_FOUND),
    (Transfer("x", a(APPR), "ESF:nope", 1, F, TransferCode.CORRECTION), R.CREDIT_ACCOUNT_NOT_FOUND),
])
def test_shape_and_account_results(transfer, result):
    assert funded().apply(transfer) == [result]


@pytest.mark.policy("F2")
def test_F2_a_transfer_stays_inside_one_fund_source():
    ledger = funded()
    assert ledger.apply(Transfer("x", a(APPR, G), a(AVAIL, F), 1, F, TransferCode.ALLOCATION)) == \
        [R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER]
    assert ledger.apply(Transfer("y", a(APPR, F), a(AVAIL, F), 1, G, TransferCode.ALLOCATION)) == \
        [R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS]
    assert ledger.apply(Transfer("z", a(APPR, G), a(AVAIL, G), 1, G, TransferCode.ALLOCATION)) == [R.OK]


# -- two-phase ----------------------------------------------------------------------------------
def test_post_full_partial_and_zero_means_all():
    ledger = funded(1000)
    assert ledger.apply(t("p1", AVAIL, PAY, 300, PENDING), t("p2", AVAIL, PAY, 300, PENDING),
                        t("p3", AVAIL, PAY, 300, PENDING)) == [R.OK] * 3
    assert ledger.acct(AVAIL).debits_pending == 900
    assert ledger.apply(resolve("full", "p1", 300), resolve("part", "p2", 120), resolve("zero", "p3", 0)) == [R.OK] * 3
    avail = ledger.acct(AVAIL)
    assert (avail.debits_pending, avail.debits_posted) == (0, 300 + 120 + 300)  # the partial's rest is released
    assert ledger.transfers["zero"].amount == 300 and ledger.transfers["zero"].debit_account_id == a(AVAIL)
    assert ledger.pending == {"p1": PendingStatus.POSTED, "p2": PendingStatus.POSTED, "p3": PendingStatus.POSTED}


def test_void_releases_the_reservation_and_resolved_transfers_stay_resolved():
    ledger = funded(1000)
    assert ledger.apply(t("p1", AVAIL, PAY, 700, PENDING), t("p2", AVAIL, PAY, 200, PENDING)) == [R.OK, R.OK]
    assert ledger.apply(resolve("v1", "p1", flags=VOID)) == [R.OK]
    assert ledger.acct(AVAIL).debits_pending == 200 and ledger.acct(AVAIL).debits_posted == 0
    assert ledger.apply(resolve("v1b", "p1", flags=VOID)) == [R.PENDING_TRANSFER_ALREADY_VOIDED]
    assert ledger.apply(resolve("post-after-void", "p1")) == [R.PENDING_TRANSFER_ALREADY_VOIDED]
    assert ledger.apply(resolve("post2", "p2")) == [R.OK]
    assert ledger.apply(resolve("post2b", "p2")) == [R.PENDING_TRANSFER_ALREADY_POSTED]
    assert ledger.apply(resolve("post2", "p2")) == [R.EXISTS]  # the same post again is a retry


@pytest.mark.parametrize(("make", "result"), [
    (lambda: resolve("r", "missing"), R.PENDING_TRANSFER_NOT_FOUND),
    (lambda: resolve("r", "plain"), R.PENDING_TRANSFER_NOT_PENDING),
    (lambda: Transfer("r", a(AVAIL), a(CLEAR), 0, "", TransferCode.SUBMISSION, POST, "p"),
     R.PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS),
    (lambda: Transfer("r", "", "", 0, G, TransferCode.SUBMISSION, POST, "p"), R.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER),
    (lambda: resolve("r", "p", 301), R.EXCEEDS_PENDING_TRANSFER_AMOUNT),  # 1 fen over the reservation
    (lambda: resolve("r", "p", 300), R.OK),
    (lambda: resolve("r", "p", 5, VOID), R.AMOUNT_INVALID),  # a void releases all or says so
    (lambda: resolve("r", "p", 300, VOID), R.OK),
    (lambda: resolve("r", "p", 301, VOID), R.EXCEEDS_PENDING_TRANSFER_AMOUNT),
])
def test_resolving_a_pending_transfer(make, result):
    ledger = funded(1000)
    assert ledger.apply(t("p", AVAIL, PAY, 300, PENDING), t("plain", AVAIL, PAY, 1)) == [R.OK, R.OK]
    assert ledger.apply(make()) == [result]


def test_a_pending_transfer_may_be_posted_in_the_batch_that_creates_it():
    ledger = funded(1000)
    assert ledger.apply(t("p", AVAIL, PAY, 300, PENDING), resolve("post", "p", 100)) == [R.OK, R.OK]
    assert ledger.pending["p"] is PendingStatus.POSTED
    assert ledger.acct(PAY).credits_posted == 100 and ledger.acct(PAY).credits_pending == 0


# -- linked chains -------------------------------------------------------------------------------
def test_a_failing_link_rolls_back_the_whole_chain_and_names_the_failure():
    ledger = funded(1000)
    results = ledger.apply(t("c1", AVAIL, PAY, 400, LINKED), t("c2", PAY, CLEAR, 400, LINKED),
                           t("c3", AVAIL, PAY, 601), t("after", AVAIL, PAY, 10))
    assert results == [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS, R.OK]
    assert {"c1", "c2", "c3"}.isdisjoint(ledger.transfers)
    assert ledger.acct(AVAIL).debits_posted == 10 and ledger.acct(CLEAR).credits_posted == 0


@pytest.mark.policy("X2")
def test_a_chain_that_holds_is_applied_whole_submission_posts_and_moves_on():
    ledger = funded(1000)
    assert ledger.apply(t("commit", AVAIL, PAY, 400, PENDING)) == [R.OK]
    assert ledger.apply(Transfer("post", "", "", 0, "", TransferCode.SUBMISSION, POST | LINKED, "commit"),
                        t("submit", PAY, CLEAR, 400)) == [R.OK, R.OK]
    # X2: a failed payment comes back by a reversing transfer, nothing is deleted.
    assert ledger.apply(t("release", CLEAR, AVAIL, 400, code=TransferCode.RELEASE)) == [R.OK]
    assert ledger.acct(AVAIL).credit_balance == 1000 and len(ledger.transfers) == 5


def test_an_open_chain_fails_at_its_end():
    ledger = funded(1000)
    assert ledger.apply(t("ok", AVAIL, PAY, 1), t("o1", AVAIL, PAY, 1, LINKED), t("o2", AVAIL, PAY, 1, LINKED)) == \
        [R.OK, R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]
    assert ledger.acct(AVAIL).debits_posted == 1


def test_a_duplicate_inside_a_chain_counts_as_success_for_the_chain():
    ledger = funded(1000)
    assert ledger.apply(t("d", AVAIL, PAY, 5)) == [R.OK]
    assert ledger.apply(t("d", AVAIL, PAY, 5, flags=TransferFlags.NONE), t("e", AVAIL, PAY, 6)) == [R.EXISTS, R.OK]


def test_long_batches_are_linear():
    """A batch of 8190 single transfers, and one chain of 8190: the undo log keeps both linear."""
    ledger = funded(10**9)
    many = [t(f"m{i}", AVAIL, PAY, 1) for i in range(8190)]
    assert set(ledger.apply(*many)) == {R.OK}
    chain = [t(f"c{i}", AVAIL, PAY, 1, LINKED) for i in range(8189)] + [t("c-end", AVAIL, PAY, 10**9)]
    results = ledger.apply(*chain)
    assert results[-1] is R.EXCEEDS_CREDITS and set(results[:-1]) == {R.LINKED_EVENT_FAILED}
    assert ledger.acct(AVAIL).debits_posted == 8190


def test_every_result_has_a_case_here():
    source = Path(__file__).read_text(encoding="utf-8")
    missing = [r.name for r in TransferResult if f"R.{r.name}" not in source]
    assert not missing


# -- what CreateTransfers refuses before the engine, and how requests are cut for the batch ------
def test_transfer_violations_name_each_malformed_field_by_its_place():
    good = t("x" * 64, user_data="u" * 100, amount=MAX_AMOUNT_FEN)
    assert transfer_violations((good,)) == []
    bad = (good, replace(good, id="x" * 65, amount=MAX_AMOUNT_FEN + 1), replace(good, amount=-1, code=99,
                                                                             user_data="u" * 101),
           replace(good, debit_account_id="a" * 81, ledger="bad ledger", pending_id="no spaces"))
    assert {v.field for v in transfer_violations(bad)} == {
        "transfers[1].id", "transfers[1].amount", "transfers[2].amount", "transfers[2].code", "transfers[2].user_data",
        "transfers[3].debit_account_id", "transfers[3].ledger", "transfers[3].pending_id"}
    assert all("u" * 100 not in v.description for v in transfer_violations(bad))
    assert [v.field for v in transfer_violations(())] == ["transfers"]
    assert [v.field for v in transfer_violations((good,) * 8191)] == ["transfers"]


def test_a_request_chain_left_open_fails_in_that_request_and_never_reaches_the_batch():
    request = [t("a"), t("b", flags=LINKED), t("c"), t("d", flags=LINKED), t("e", flags=LINKED)]
    split = _split(request, Actor(ActorKind.FINANCE, "finance-1"), "CreateTransfers")
    assert [x.id for x in split.transfers] == ["a", "b", "c"] and split.positions == [0, 1, 2]
    assert split.results == [None, None, None, R.LINKED_EVENT_FAILED, R.LINKED_EVENT_CHAIN_OPEN]


@pytest.mark.policy("X2")
def test_a_created_transfers_audit_state_names_what_it_did():
    assert [audit_state(f) for f in (TransferFlags.NONE, TransferFlags.LINKED, TransferFlags.PENDING,
                                     TransferFlags.PENDING | TransferFlags.LINKED, TransferFlags.POST_PENDING_TRANSFER,
                                     TransferFlags.VOID_PENDING_TRANSFER)] == [
        "posted", "posted", "pending", "pending", "posted_pending", "voided_pending"]
