"""Service-layer tests of claim_svc's handlers on the in-memory unit of work (tests/fakes.py).

Money first: a claim and its payout requests have ids derived from the voucher, so a replayed
event or a claim re-created after a restore asks the ledger for the very same payout again.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from claim_svc.bootstrap import bootstrap
from claim_svc.domain.model import (
    ClaimState,
    LineKind,
    LineState,
    Payee,
    PayeeKind,
    claim_id_for_voucher,
    line_id_for,
    payout_request_id_for,
)
from claim_svc.service_layer import commands
from skillpay.actors import Actor, ActorKind, service_actor
from skillpay.clock import FixedClock
from skillpay.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from tests.fakes import FakeClaimUnitOfWork

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=timezone.utc)
LATER = NOW + timedelta(hours=3)
VOUCHER = "vch_0001"
CLAIM = claim_id_for_voucher(VOUCHER)
LINE = line_id_for(LineKind.VOUCHER_SUBSIDY, VOUCHER)
PAYOUT_1 = payout_request_id_for(LINE, 1)
PAYOUT_2 = payout_request_id_for(LINE, 2)
VOUCHER_SVC = service_actor("voucher").for_request("event:ev-1")
LEDGER = service_actor("ledger")
REVIEWER = Actor(ActorKind.REVIEWER, "reviewer-1")
PAYEE = Payee(PayeeKind.PERSON, "张三", "110105********1234", b"sealed", "0f" * 32)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def uows(clock):
    return FakeClaimUnitOfWork.factory(clock)


@pytest.fixture
def db(uows):
    return uows.db


@pytest.fixture
def bus(uows, clock):
    return bootstrap(uows, clock=clock)


@contextmanager
def nothing_stored(db):
    before = db.snapshot()
    yield
    assert (db.tables, db.outbox, db.audit_records, db.idempotency) == before


def voucher_redeemed(voucher_id=VOUCHER, amount_fen=150_000, fund_source="esf-2025"):
    """The command voucher_svc's voucher.redeemed event turns into."""
    return commands.CreateVoucherClaim(actor=VOUCHER_SVC, voucher_id=voucher_id, payee=PAYEE, institution_id="ins_1",
                                       occupation_code="6-31-01-03", level=4, amount_fen=amount_fen,
                                       fund_source=fund_source, redeemed_at=NOW)


def settled(payout_request_id=PAYOUT_1, claim_id=CLAIM, at=LATER):
    return commands.RecordPayoutSettled(actor=LEDGER, payout_request_id=payout_request_id, claim_id=claim_id,
                                        settled_at=at)


def failed(payout_request_id=PAYOUT_1, claim_id=CLAIM, reason="account closed"):
    return commands.RecordPayoutFailed(actor=LEDGER, payout_request_id=payout_request_id, claim_id=claim_id,
                                       reason=reason, failed_at=LATER)


def violated_fields(err: pytest.ExceptionInfo) -> list[str]:
    return [v.field for v in err.value.violations]


def stored(db, claim_id=CLAIM):
    return db.tables["claims"][claim_id]


# -- CreateVoucherClaim --------------------------------------------------------------------------
@pytest.mark.policy("C7", "F3")
async def test_a_redeemed_voucher_becomes_an_approved_claim_that_asks_for_its_payout(bus, db):
    claim = await bus.handle(voucher_redeemed())
    c = stored(db)
    assert claim.claim_id == c.claim_id == CLAIM
    assert (c.state, c.voucher_id, c.amount_fen, c.fund_source, c.created_at, c.approved_at) == (
        ClaimState.APPROVED, VOUCHER, 150_000, "esf-2025", NOW, NOW)
    [line] = c.lines
    assert (line.line_id, line.state, line.attempt, line.payout_request_id) == (
        LINE, LineState.PAYOUT_REQUESTED, 1, PAYOUT_1)
    [event] = db.events_of_type("payout.requested")
    p = event.payload
    assert (p.payout_request_id, p.claim_id, p.claim_line_id, p.attempt) == (PAYOUT_1, CLAIM, LINE, 1)
    assert (p.channel, p.amount_fen, p.fund_source) == ("ssc_card", 150_000, "esf-2025")  # C7, F3
    assert dict(p.references) == {"claim_id": CLAIM, "claim_line_id": LINE, "line_kind": "voucher_subsidy",
                                  "voucher_id": VOUCHER, "redemption_id": VOUCHER}
    [record] = db.audit_for(CLAIM)
    assert (record.state_before, record.state_after, record.command, record.actor_subject, record.request_id) == (
        "", "approved", "CreateVoucherClaim", "voucher", "event:ev-1")


async def test_without_auto_approval_the_claim_waits_submitted_and_asks_for_nothing(uows, clock, db):
    bus = bootstrap(uows, clock=clock, auto_approve=False)
    await bus.handle(voucher_redeemed())
    c = stored(db)
    assert c.state is ClaimState.SUBMITTED
    assert c.lines[0].state is LineState.OPEN and c.lines[0].payout_request_id == ""
    assert db.outbox == []


@pytest.mark.policy("X2")
async def test_the_same_redeemed_voucher_twice_gives_one_claim_with_the_same_ids(bus, db):
    first = await bus.handle(voucher_redeemed())
    with nothing_stored(db):
        second = await bus.handle(voucher_redeemed(amount_fen=999))
    assert list(db.tables["claims"]) == [CLAIM]
    assert (second.claim_id, second.lines[0].line_id, second.lines[0].payout_request_id) == (
        first.claim_id, first.lines[0].line_id, first.lines[0].payout_request_id) == (CLAIM, LINE, PAYOUT_1)
    assert second.amount_fen == 150_000
    assert len(db.events_of_type("payout.requested")) == 1


@pytest.mark.policy("X2")
async def test_a_claim_recreated_after_its_database_was_lost_asks_for_the_same_payout(bus, db, clock):
    await bus.handle(voucher_redeemed())
    restored = FakeClaimUnitOfWork.factory(clock)  # a fresh, empty database: the same event again
    await bootstrap(restored, clock=clock).handle(voucher_redeemed())
    [before] = db.events_of_type("payout.requested")
    [after] = restored.db.events_of_type("payout.requested")
    assert after.payload.payout_request_id == before.payload.payout_request_id == PAYOUT_1
    assert stored(restored.db).lines[0].payout_request_id == PAYOUT_1


async def test_a_claim_needs_a_positive_amount_and_a_fund_source(bus, db):
    # Refused by field kind, naming the field, like a caller's bad request: nothing is stored.
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(voucher_redeemed(amount_fen=0))
    assert violated_fields(err) == ["amount_fen"]
    with nothing_stored(db), pytest.raises(InvalidArgument, match="F3") as err:
        await bus.handle(voucher_redeemed(fund_source=""))
    assert violated_fields(err) == ["fund_source"]


async def test_a_malformed_voucher_redeemed_event_is_refused_naming_every_bad_field(bus, db):
    bad_payee = Payee(PayeeKind.PERSON, "\u202e张三", "11010519491231002X", b"", "not-hex")
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.CreateVoucherClaim(
            actor=VOUCHER_SVC, voucher_id="v" * 100_000, payee=bad_payee, institution_id="ins 1\n",
            occupation_code="6-31-01-03;DROP", level=9, amount_fen=2**63 - 1, fund_source="x" * 65,
            redeemed_at=NOW))
    assert violated_fields(err) == [
        "voucher_id", "payee.name", "payee.id_masked", "payee.id_lookup", "payee.id_sealed", "institution_id",
        "occupation_code", "level", "amount_fen", "fund_source"]
    assert "v" * 100 not in str(err.value)  # never echoed
    # an id longer than the column that stores it is refused, not cut short by the database
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(voucher_redeemed(voucher_id="vch_" + "a" * 37))
    assert violated_fields(err) == ["voucher_id"]


async def test_a_malformed_payout_outcome_is_refused_naming_its_fields(bus, db):
    await bus.handle(voucher_redeemed())
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.RecordPayoutSettled(actor=LEDGER, payout_request_id="po\x00", claim_id="",
                                                      settled_at=None))
    assert violated_fields(err) == ["payout_request_id", "claim_id", "settled_at"]
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.RecordPayoutFailed(actor=LEDGER, payout_request_id=PAYOUT_1, claim_id=CLAIM,
                                                     reason="x", failed_at=LATER.replace(tzinfo=None)))
    assert violated_fields(err) == ["failed_at"]


async def test_a_failure_reason_from_the_ledger_is_kept_as_one_plain_bounded_line(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(failed(reason="closed\r\n\x1b[31mFAKE\u202e" + "y" * 1000))
    c = stored(db)
    assert c.failure_reason.startswith("closed [31mFAKE y") and len(c.failure_reason) == 200
    assert c.lines[0].failure_reason == c.failure_reason


async def test_only_a_service_creates_a_voucher_claim(bus, db):
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await bus.handle(commands.CreateVoucherClaim(
            actor=REVIEWER, voucher_id=VOUCHER, payee=PAYEE, institution_id="ins_1", occupation_code="x", level=4,
            amount_fen=1, fund_source="esf-2025", redeemed_at=NOW))


# -- RecordPayoutSettled -------------------------------------------------------------------------
async def test_a_settled_payout_pays_the_claim(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(settled())
    c = stored(db)
    assert (c.state, c.paid_at, c.payment_id) == (ClaimState.PAID, LATER, PAYOUT_1)
    assert (c.lines[0].state, c.lines[0].paid_at) == (LineState.PAID, LATER)
    assert [r.state_after for r in db.audit_for(CLAIM)] == ["approved", "paid"]
    assert db.audit_for(CLAIM)[-1].command == "RecordPayoutSettled"


async def test_the_same_settlement_twice_changes_nothing_the_second_time(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(settled())
    with nothing_stored(db):
        await bus.handle(settled(at=LATER + timedelta(days=1)))
    assert stored(db).paid_at == LATER


async def test_a_settlement_for_another_payout_request_leaves_the_claim_as_it_is(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(settled(payout_request_id="po_unknown"))
    assert stored(db).state is ClaimState.APPROVED
    assert "po_unknown" in db.tables["payout_outcomes"]
    assert len(db.audit_for(CLAIM)) == 1


async def test_a_settlement_reported_before_the_claim_exists_is_applied_when_it_is_created(bus, db):
    await bus.handle(settled())
    assert db.tables["claims"] == {}
    assert list(db.tables["payout_outcomes"]) == [PAYOUT_1]
    await bus.handle(voucher_redeemed())
    c = stored(db)
    assert (c.state, c.payment_id, c.paid_at) == (ClaimState.PAID, PAYOUT_1, LATER)
    assert c.lines[0].state is LineState.PAID


# -- RecordPayoutFailed --------------------------------------------------------------------------
async def test_a_failed_payout_marks_the_claim_and_its_line_failed(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(failed())
    c = stored(db)
    assert (c.state, c.failure_reason) == (ClaimState.PAYMENT_FAILED, "account closed")
    assert (c.lines[0].state, c.lines[0].failure_reason) == (LineState.PAYMENT_FAILED, "account closed")
    assert [r.state_after for r in db.audit_for(CLAIM)] == ["approved", "payment_failed"]


async def test_the_same_failure_twice_changes_nothing_the_second_time(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(failed())
    with nothing_stored(db):
        await bus.handle(failed(reason="another reason"))
    assert stored(db).failure_reason == "account closed"


async def test_a_failure_reported_before_the_claim_exists_is_applied_when_it_is_created(bus, db):
    await bus.handle(failed())
    assert db.tables["claims"] == {}
    await bus.handle(voucher_redeemed())
    assert stored(db).state is ClaimState.PAYMENT_FAILED


# -- RecordPayoutReturned (the ledger's payment.returned) ----------------------------------------
def returned(payout_request_id=PAYOUT_1, reason="returned by bank: AC04"):
    return commands.RecordPayoutReturned(actor=LEDGER, payout_request_id=payout_request_id, claim_id=CLAIM,
                                         reason=reason, returned_at=LATER)


@pytest.mark.policy("X2")
async def test_a_returned_payout_fails_its_paid_line_again_and_it_can_be_requested_again(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(settled())
    await bus.handle(returned())
    c = stored(db)
    assert (c.state, c.failure_reason, c.paid_at) == (ClaimState.PAYMENT_FAILED, "returned by bank: AC04", None)
    assert (c.lines[0].state, c.lines[0].failure_reason) == (LineState.PAYMENT_FAILED, "returned by bank: AC04")
    with nothing_stored(db):  # redelivered
        await bus.handle(returned())
    claim = await bus.handle(commands.RequestPayoutAgain(actor=REVIEWER, claim_id=CLAIM))
    assert claim.lines[0].payout_request_id == PAYOUT_2
    with nothing_stored(db):  # a late copy of the first attempt's return matches nothing now
        await bus.handle(returned())


async def test_a_return_of_a_payout_that_never_settled_changes_nothing(bus, db):
    await bus.handle(voucher_redeemed())
    with nothing_stored(db):
        await bus.handle(returned())
    assert stored(db).state is ClaimState.APPROVED


# -- RequestPayoutAgain --------------------------------------------------------------------------
async def test_after_a_failure_a_payout_is_requested_again_as_attempt_two_with_a_new_id(bus, db, clock):
    await bus.handle(voucher_redeemed())
    await bus.handle(failed())
    clock.advance(timedelta(days=1))
    claim = await bus.handle(commands.RequestPayoutAgain(actor=REVIEWER, claim_id=CLAIM))
    c = stored(db)
    assert claim.state is c.state is ClaimState.APPROVED
    assert c.failure_reason is None
    [line] = c.lines
    assert (line.attempt, line.state, line.payout_request_id) == (2, LineState.PAYOUT_REQUESTED, PAYOUT_2)
    assert PAYOUT_2 != PAYOUT_1
    first, second = db.events_of_type("payout.requested")
    assert (first.payload.payout_request_id, first.payload.attempt) == (PAYOUT_1, 1)
    assert (second.payload.payout_request_id, second.payload.attempt) == (PAYOUT_2, 2)
    assert second.payload.requested_at.ToDatetime(tzinfo=timezone.utc) == NOW + timedelta(days=1)
    # the failed first attempt stays failed: a late word about it does not pay the claim
    await bus.handle(settled(payout_request_id=PAYOUT_1))
    assert stored(db).state is ClaimState.APPROVED
    await bus.handle(settled(payout_request_id=PAYOUT_2))
    assert (stored(db).state, stored(db).payment_id) == (ClaimState.PAID, PAYOUT_2)


async def test_a_payout_is_requested_again_only_after_a_failure(bus, db):
    await bus.handle(voucher_redeemed())
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="approved"):
        await bus.handle(commands.RequestPayoutAgain(actor=REVIEWER, claim_id=CLAIM))
    await bus.handle(settled())
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="paid"):
        await bus.handle(commands.RequestPayoutAgain(actor=REVIEWER, claim_id=CLAIM))


async def test_request_payout_again_for_an_unknown_claim_is_not_found(bus, db):
    with nothing_stored(db), pytest.raises(NotFound):
        await bus.handle(commands.RequestPayoutAgain(actor=REVIEWER, claim_id="clm_missing"))


async def test_only_bureau_reviewers_and_finance_request_a_payout_again(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(failed())
    for actor in (LEDGER, Actor(ActorKind.INSTITUTION, "ins_1"), Actor(ActorKind.PERSON, "p")):
        with nothing_stored(db), pytest.raises(PermissionDenied):
            await bus.handle(commands.RequestPayoutAgain(actor=actor, claim_id=CLAIM))
    await bus.handle(commands.RequestPayoutAgain(actor=Actor(ActorKind.FINANCE, "f-1"), claim_id=CLAIM))
    assert stored(db).lines[0].attempt == 2
