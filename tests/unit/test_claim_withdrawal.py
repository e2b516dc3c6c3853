"""claim_svc's side of a rolled-back redemption or a revoked voucher: the claim line of that
redemption is withdrawn and never requested again; a payout of it that settles after all is
recorded as paid after withdrawal (X2: recovery due); a later redemption of the same voucher gets
a line, and payout request ids, of its own. Domain, handlers on the fakes, and the translators."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from claim_svc.bootstrap import bootstrap
from claim_svc.domain.model import (
    ClaimState,
    LineKind,
    LineState,
    line_id_for,
    payout_request_id_for,
)
from claim_svc.entrypoints import mappers
from claim_svc.entrypoints.grpc_server import (
    on_redemption_rolled_back,
    on_voucher_redeemed,
    on_voucher_revoked,
)
from claim_svc.service_layer import commands
from skillpay.claim.v1 import claim_pb2
from skillpay.clock import FixedClock
from skillpay.errors import FailedPrecondition, InvalidArgument
from skillpay.events.v1 import events_pb2
from tests.fakes import FakeClaimUnitOfWork
from tests.unit.test_claim_domain import NOW, _approved, _claim
from tests.unit.test_claim_handlers import (
    CLAIM,
    LINE,
    PAYOUT_1,
    PAYOUT_2,
    REVIEWER,
    VOUCHER,
    VOUCHER_SVC,
    failed,
    nothing_stored,
    settled,
    stored,
    violated_fields,
    voucher_redeemed,
)
from tests.unit.test_claim_handlers import NOW as HANDLERS_NOW
from voucher_svc.domain.lifecycle import redemption_id_for

pytestmark = pytest.mark.unit

SECOND = redemption_id_for(VOUCHER, 2)
SECOND_LINE = line_id_for(LineKind.VOUCHER_SUBSIDY, SECOND)


@pytest.fixture
def clock():
    return FixedClock(HANDLERS_NOW)


@pytest.fixture
def db(clock):
    return FakeClaimUnitOfWork.factory(clock).db


@pytest.fixture
def bus(db, clock):
    return bootstrap(FakeClaimUnitOfWork.factory(clock, db), clock=clock)


def withdraw(redemption_id=VOUCHER, voucher_id=VOUCHER, reason="assessment annulled"):
    return commands.WithdrawClaimLine(actor=VOUCHER_SVC, voucher_id=voucher_id, redemption_id=redemption_id,
                                      reason=reason)


def redeemed_again(redemption_id=SECOND, amount_fen=120_000):
    cmd = voucher_redeemed(amount_fen=amount_fen)
    return commands.CreateVoucherClaim(**{**{f: getattr(cmd, f) for f in cmd.__dataclass_fields__},
                                          "redemption_id": redemption_id})


# -- domain ----------------------------------------------------------------------------------------
def test_the_first_redemption_keeps_the_line_id_derived_from_the_voucher():
    assert _claim().lines[0].line_id == _claim().lines[0].line_id == line_id_for(LineKind.VOUCHER_SUBSIDY, "vch_1")
    from claim_svc.domain.model import Claim, Payee, PayeeKind

    named = Claim.for_redeemed_voucher("vch_1", Payee(PayeeKind.INSTITUTION, "x"), "ins_1", "6-01-02-03", 4, 1, "f",
                                       NOW, redemption_id="vch_1")
    assert named.lines[0].line_id == _claim().lines[0].line_id and named.lines[0].redemption_id == "vch_1"


@pytest.mark.policy("X2")
def test_X2_a_withdrawn_line_is_never_requested_again_and_the_claim_is_withdrawn():
    c, _ = _approved()
    line = c.lines[0]
    assert c.withdraw_line("vch_1", "annulled") is True
    assert (line.state, line.withdrawal_reason, c.state, c.amount_fen) == (LineState.WITHDRAWN, "annulled",
                                                                          ClaimState.WITHDRAWN, 0)
    before = copy.deepcopy(c)
    assert c.withdraw_line("vch_1", "annulled") is False  # a replay
    assert c.withdraw_line("rdm_unknown", "x") is False
    with pytest.raises(FailedPrecondition):
        c.request_payout_again(NOW)
    assert c == before and c.pull_events() == []


@pytest.mark.policy("X2")
def test_X2_a_payout_that_settles_after_the_withdrawal_is_recorded_as_a_recovery_due():
    c, event = _approved()
    c.withdraw_line("vch_1", "annulled")
    assert c.payout_settled(event.payout_request_id, NOW) is True
    line = c.lines[0]
    assert (line.state, line.paid_at, c.state) == (LineState.PAID_AFTER_WITHDRAWAL, NOW, ClaimState.WITHDRAWN)
    assert (c.recovery_due_fen, c.audit_state()) == (150_000, "withdrawn:recovery_due")
    assert c.payout_settled(event.payout_request_id, NOW) is False  # redelivered


def test_a_payout_that_fails_after_the_withdrawal_changes_nothing_more():
    c, event = _approved()
    c.withdraw_line("vch_1", "annulled")
    before = copy.deepcopy(c)
    assert c.payout_failed(event.payout_request_id, "account_closed") is False
    assert c == before and c.pull_events() == []


def test_an_outcome_of_a_later_attempt_does_not_revive_a_withdrawn_line():
    # A re-request made before a restore the claim does not know of: if it settled, money is out.
    c, _ = _approved()
    c.withdraw_line("vch_1", "annulled")
    assert c.payout_failed(payout_request_id_for(c.lines[0].line_id, 2), "x") is False
    assert (c.lines[0].state, c.lines[0].attempt, c.state) == (LineState.WITHDRAWN, 1, ClaimState.WITHDRAWN)
    assert c.payout_settled(payout_request_id_for(c.lines[0].line_id, 2), NOW) is True
    assert (c.lines[0].state, c.lines[0].attempt, c.state) == (LineState.PAID_AFTER_WITHDRAWAL, 1,
                                                               ClaimState.WITHDRAWN)


@pytest.mark.policy("X2")
def test_X2_a_line_paid_before_the_withdrawal_arrived_is_paid_after_withdrawal():
    c, event = _approved()
    c.payout_settled(event.payout_request_id, NOW)
    assert c.state is ClaimState.PAID
    assert c.withdraw_line("vch_1", "annulled") is True
    assert (c.lines[0].state, c.state, c.recovery_due_fen) == (LineState.PAID_AFTER_WITHDRAWAL, ClaimState.WITHDRAWN,
                                                                150_000)


def test_a_second_redemption_gets_its_own_line_and_payout_ids_and_pays_the_claim():
    c, first = _approved()
    c.withdraw_line("vch_1", "annulled")
    second = redemption_id_for("vch_1", 2)
    assert c.add_redemption(second, 120_000) is True
    assert c.add_redemption(second, 120_000) is False  # a replay
    assert c.state is ClaimState.SUBMITTED and c.amount_fen == 120_000
    c.approve(NOW)
    [event] = c.pull_events()
    assert event.line_id == line_id_for(LineKind.VOUCHER_SUBSIDY, second) != first.line_id
    assert event.payout_request_id not in (first.payout_request_id, payout_request_id_for(first.line_id, 2))
    assert event.references["redemption_id"] == second
    assert c.payout_settled(event.payout_request_id, NOW) is True
    assert c.state is ClaimState.PAID and [line.state for line in c.lines] == [LineState.WITHDRAWN, LineState.PAID]


def test_the_claim_reply_shows_withdrawn_lines_and_the_recovery():
    c, event = _approved()
    c.withdraw_line("vch_1", "annulled")
    c.payout_settled(event.payout_request_id, NOW)
    message = mappers.claim(c)
    assert (message.state, message.recovery_due_fen, message.amount_fen) == (claim_pb2.CLAIM_STATE_WITHDRAWN, 150_000,
                                                                             0)
    assert (message.lines[0].state, message.lines[0].redemption_id, message.lines[0].withdrawal_reason) == (
        claim_pb2.CLAIM_LINE_STATE_PAID_AFTER_WITHDRAWAL, "vch_1", "annulled")


# -- handlers (fakes, real bus) --------------------------------------------------------------------
@pytest.mark.policy("X2")
async def test_X2_withdrawal_then_late_settlement_then_redemption_again_pays_once_per_live_line(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(withdraw())
    c = stored(db)
    assert (c.state, c.lines[0].state) == (ClaimState.WITHDRAWN, LineState.WITHDRAWN)
    assert db.audit_for(CLAIM)[-1].state_after == "withdrawn" and db.audit_for(CLAIM)[-1].command == "WithdrawClaimLine"
    with nothing_stored(db):
        await bus.handle(withdraw())  # a duplicate event
    # the first payout settles anyway: recorded, not raised (the event is not parked)
    await bus.handle(settled(PAYOUT_1))
    c = stored(db)
    assert (c.lines[0].state, c.recovery_due_fen) == (LineState.PAID_AFTER_WITHDRAWAL, 150_000)
    assert db.audit_for(CLAIM)[-1].state_after == "withdrawn:recovery_due"
    with nothing_stored(db):
        await bus.handle(settled(PAYOUT_1, at=NOW + timedelta(days=1)))
    # redeemed again: a new line, approved, one new payout request
    await bus.handle(redeemed_again())
    c = stored(db)
    assert [line.line_id for line in c.lines] == [LINE, SECOND_LINE]
    requests = db.events_of_type("payout.requested")
    assert [r.payload.claim_line_id for r in requests] == [LINE, SECOND_LINE]
    assert requests[1].payload.amount_fen == 120_000
    assert dict(requests[1].payload.references)["redemption_id"] == SECOND
    with nothing_stored(db):
        await bus.handle(redeemed_again())  # replayed
    await bus.handle(settled(payout_request_id_for(SECOND_LINE, 1)))
    c = stored(db)
    assert (c.state, c.amount_fen, c.recovery_due_fen) == (ClaimState.PAID, 120_000, 150_000)


async def test_a_withdrawn_failed_line_is_not_requested_again(bus, db):
    await bus.handle(voucher_redeemed())
    await bus.handle(failed(PAYOUT_1))
    assert stored(db).state is ClaimState.PAYMENT_FAILED
    await bus.handle(withdraw())
    assert stored(db).state is ClaimState.WITHDRAWN
    from claim_svc.service_layer.commands import RequestPayoutAgain

    with nothing_stored(db), pytest.raises(FailedPrecondition):
        await bus.handle(RequestPayoutAgain(actor=REVIEWER, claim_id=CLAIM))
    assert PAYOUT_2 not in [e.payload.payout_request_id for e in db.events_of_type("payout.requested")]


@pytest.mark.policy("X2")
async def test_X2_a_withdrawal_before_its_claim_is_kept_and_the_claim_never_requests_that_line(bus, db):
    """The rollback reached claim_svc first (voucher.redeemed parked, replayed later): nothing is paid."""
    assert await bus.handle(withdraw()) is None
    assert list(db.tables["pending_withdrawals"]) == [(VOUCHER, VOUCHER)]
    with nothing_stored(db):
        await bus.handle(withdraw())  # the same rollback again: kept once
    await bus.handle(voucher_redeemed())  # the replayed redemption
    c = stored(db)
    assert (c.state, c.lines[0].state, c.lines[0].withdrawal_reason) == (
        ClaimState.WITHDRAWN, LineState.WITHDRAWN, "assessment annulled")
    assert db.events_of_type("payout.requested") == []
    # redeemed again afterwards: the new redemption's line is paid as usual
    await bus.handle(redeemed_again())
    assert [r.payload.claim_line_id for r in db.events_of_type("payout.requested")] == [SECOND_LINE]


async def test_a_withdrawal_with_bad_ids_changes_nothing(bus, db):
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(withdraw(voucher_id="", redemption_id="x" * 41))
    assert violated_fields(err) == ["voucher_id", "redemption_id"]


# -- translators -----------------------------------------------------------------------------------
def _envelope(kind, message):
    return events_pb2.EventEnvelope(event_id="e1", event_type=kind, producer="voucher",
                                    payload=message.SerializeToString())


def test_the_rollback_and_the_revocation_before_payment_become_withdrawals():
    cmd = on_redemption_rolled_back(_envelope("voucher.redemption_rolled_back", events_pb2.VoucherRedemptionRolledBack(
        voucher_id=VOUCHER, redemption_id=VOUCHER, redemption_no=1, reason="annulled")))
    assert (type(cmd), cmd.voucher_id, cmd.redemption_id, cmd.reason) == (commands.WithdrawClaimLine, VOUCHER,
                                                                          VOUCHER, "annulled")
    cmd = on_voucher_revoked(_envelope("voucher.revoked", events_pb2.VoucherRevoked(
        voucher_id=VOUCHER, reason="fraud", previous_state="redeemed", withdrawn_redemption_id=SECOND)))
    assert (cmd.redemption_id, cmd.reason) == (SECOND, "fraud")
    # revoked after payment (a recovery, a later issue) or before redemption: nothing to withdraw
    assert on_voucher_revoked(_envelope("voucher.revoked", events_pb2.VoucherRevoked(
        voucher_id=VOUCHER, reason="fraud", previous_state="paid", recovery_due_fen=150_000))) is None
    redeemed = on_voucher_redeemed(_envelope("voucher.redeemed", events_pb2.VoucherRedeemed(
        voucher_id=VOUCHER, redemption_id=SECOND, redemption_no=2)))
    assert redeemed.redemption_id == SECOND
