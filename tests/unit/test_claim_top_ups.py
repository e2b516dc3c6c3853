"""A5 in claim_svc: a voucher's claim gains exactly one TOP_UP line, paid like any other line.

Domain (claim_svc/domain/model.py Claim.add_top_up) and handlers (AddTopUpLine, CreateVoucherClaim
taking a pending top-up) on the in-memory unit of work; the translator of voucher.topped_up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.type import date_pb2

from claim_svc.bootstrap import bootstrap
from claim_svc.domain.model import (
    Claim,
    ClaimState,
    LineKind,
    LineState,
    line_id_for,
    payout_request_id_for,
)
from claim_svc.entrypoints.grpc_server import on_voucher_redeemed, on_voucher_topped_up
from claim_svc.service_layer import commands
from skillpay.actors import Actor, ActorKind
from skillpay.clock import FixedClock
from skillpay.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from skillpay.events.v1 import events_pb2
from skillpay.messaging import to_timestamp
from tests.fakes import FakeClaimUnitOfWork
from tests.unit.test_claim_handlers import (
    CLAIM,
    LATER,
    NOW,
    PAYEE,
    VOUCHER,
    VOUCHER_SVC,
    nothing_stored,
    settled,
    stored,
    violated_fields,
)

pytestmark = pytest.mark.unit

TOP_UP_ID = "tup_0001"
TOP_UP_LINE = line_id_for(LineKind.TOP_UP, TOP_UP_ID)


@pytest.fixture
def uows(clock):
    return FakeClaimUnitOfWork.factory(clock)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def db(uows):
    return uows.db


@pytest.fixture
def bus(uows, clock):
    return bootstrap(uows, clock=clock)


def redeemed_at_80_percent(voucher_id=VOUCHER):
    return commands.CreateVoucherClaim(actor=VOUCHER_SVC, voucher_id=voucher_id, payee=PAYEE, institution_id="ins_1",
                                       occupation_code="6-31-01-03", level=4, amount_fen=120_000,
                                       fund_source="esf-2025", redeemed_at=NOW, valuation_rule="A3", rate_percent=80,
                                       standard_fen=150_000)


def topped_up(top_up_id=TOP_UP_ID, value_fen=120_000, top_up_fen=30_000, standard_fen=150_000, voucher_id=VOUCHER):
    return commands.AddTopUpLine(actor=VOUCHER_SVC, top_up_id=top_up_id, voucher_id=voucher_id, value_fen=value_fen,
                                 top_up_fen=top_up_fen, standard_fen=standard_fen, topped_up_at=LATER)


def _claim(state_after_approval: bool = True) -> Claim:
    c = Claim.for_redeemed_voucher(VOUCHER, PAYEE, "ins_1", "6-31-01-03", 4, 120_000, "esf-2025", NOW, "A3", 80,
                                   150_000)
    if state_after_approval:
        c.approve(NOW)
    c.pull_events()
    return c


# -- domain ------------------------------------------------------------------------------------------
@pytest.mark.policy("A5", "A3")
def test_A5_the_subsidy_line_shows_its_rule_and_the_top_up_line_pays_the_difference_at_once():
    c = _claim()
    assert (c.lines[0].rule, c.lines[0].rate_percent, c.standard_fen) == ("A3", 80, 150_000)
    assert c.add_top_up(TOP_UP_ID, 120_000, 30_000, LATER) is True
    top_up = c.lines[1]
    assert (top_up.line_id, top_up.kind, top_up.amount_fen, top_up.rule, top_up.rate_percent) == (
        TOP_UP_LINE, LineKind.TOP_UP, 30_000, "A5", 20)
    assert (top_up.state, top_up.attempt) == (LineState.PAYOUT_REQUESTED, 1)
    [event] = c.pull_events()
    assert (event.payout_request_id, event.amount_fen, event.line_kind, event.fund_source) == (
        payout_request_id_for(TOP_UP_LINE, 1), 30_000, LineKind.TOP_UP, "esf-2025")
    assert event.references["line_kind"] == "top_up" and event.references["voucher_id"] == VOUCHER
    assert c.amount_fen == 150_000 and c.audit_state() == "approved+top_up"
    # The same top-up again: nothing; another one: never.
    assert c.add_top_up(TOP_UP_ID, 120_000, 30_000, LATER) is False
    with pytest.raises(FailedPrecondition, match="A5"):
        c.add_top_up("tup_other", 120_000, 30_000, LATER)
    assert len(c.lines) == 2 and c.pull_events() == []


@pytest.mark.policy("A5")
def test_A5_a_paid_claim_is_paid_again_once_its_top_up_settles():
    c = _claim()
    assert c.payout_settled(c.lines[0].payout_request_id, NOW)
    assert c.state is ClaimState.PAID
    c.add_top_up(TOP_UP_ID, 120_000, 30_000, LATER)
    assert c.state is ClaimState.APPROVED  # one line still to pay
    assert c.payout_settled(payout_request_id_for(TOP_UP_LINE, 1), LATER)
    assert (c.state, c.paid_at, c.payment_id) == (ClaimState.PAID, LATER, payout_request_id_for(TOP_UP_LINE, 1))


@pytest.mark.policy("A5")
def test_A5_a_submitted_claim_keeps_the_top_up_open_until_approval_pays_both():
    c = _claim(state_after_approval=False)
    c.add_top_up(TOP_UP_ID, 120_000, 30_000, LATER)
    assert c.lines[1].state is LineState.OPEN and c.pull_events() == []
    c.approve(LATER)
    assert [e.amount_fen for e in c.pull_events()] == [120_000, 30_000]


@pytest.mark.policy("A5")
@pytest.mark.parametrize(("value_fen", "top_up_fen"), [(150_000, 30_000), (120_000, 30_001)])
def test_A5_a_top_up_that_does_not_fit_the_claim_is_refused(value_fen, top_up_fen):
    c = _claim()
    with pytest.raises(FailedPrecondition, match="A5"):
        c.add_top_up(TOP_UP_ID, value_fen, top_up_fen, LATER)
    assert len(c.lines) == 1


# -- handlers ------------------------------------------------------------------------------------------
@pytest.mark.policy("A5")
async def test_A5_add_top_up_line_twice_gives_one_line_and_one_payout_request(bus, db):
    await bus.handle(redeemed_at_80_percent())
    await bus.handle(topped_up())
    await bus.handle(topped_up())  # redelivered
    await bus.handle(redeemed_at_80_percent())  # voucher.redeemed replayed too
    c = stored(db)
    assert [(line.kind, line.amount_fen) for line in c.lines] == [(LineKind.VOUCHER_SUBSIDY, 120_000),
                                                                  (LineKind.TOP_UP, 30_000)]
    requests = db.events_of_type("payout.requested")
    assert [(r.payload.amount_fen, r.payload.line_kind) for r in requests] == [(120_000, "voucher_subsidy"),
                                                                               (30_000, "top_up")]
    assert requests[1].payload.payout_request_id == payout_request_id_for(TOP_UP_LINE, 1)
    # Both settle: the claim is paid, with the whole standard.
    await bus.handle(settled(payout_request_id_for(c.lines[0].line_id, 1)))
    await bus.handle(settled(payout_request_id_for(TOP_UP_LINE, 1), at=LATER + timedelta(minutes=1)))
    assert (stored(db).state, stored(db).amount_fen) == (ClaimState.PAID, 150_000)


@pytest.mark.policy("A5")
async def test_A5_a_top_up_before_its_claim_is_kept_and_taken_when_the_claim_is_created(bus, db):
    assert await bus.handle(topped_up()) is None
    assert await bus.handle(topped_up()) is None
    assert db.tables["claims"] == {} and len(db.tables["pending_top_ups"]) == 1
    await bus.handle(redeemed_at_80_percent())
    c = stored(db)
    assert [line.kind for line in c.lines] == [LineKind.VOUCHER_SUBSIDY, LineKind.TOP_UP]
    assert [r.payload.amount_fen for r in db.events_of_type("payout.requested")] == [120_000, 30_000]


@pytest.mark.policy("A5")
async def test_A5_a_malformed_top_up_is_refused_naming_every_field(bus, db):
    await bus.handle(redeemed_at_80_percent())
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.AddTopUpLine(actor=VOUCHER_SVC, top_up_id="", voucher_id="x" * 41, value_fen=0,
                                               top_up_fen=-5, standard_fen=2**63, topped_up_at=None))
    assert set(violated_fields(err)) == {"top_up_id", "voucher_id", "value_fen", "top_up_fen", "standard_fen",
                                         "topped_up_at"}
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(topped_up(top_up_fen=30_001))  # more than the standard together
    assert violated_fields(err) == ["top_up_fen"]
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await bus.handle(commands.AddTopUpLine(actor=Actor(ActorKind.REVIEWER, "reviewer-1"),
                                               top_up_id=TOP_UP_ID, voucher_id=VOUCHER, value_fen=120_000,
                                               top_up_fen=30_000, standard_fen=150_000, topped_up_at=LATER))


@pytest.mark.policy("A3")
async def test_a_voucher_redeemed_event_with_a_value_above_its_standard_is_refused(bus, db):
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.CreateVoucherClaim(
            actor=VOUCHER_SVC, voucher_id=VOUCHER, payee=PAYEE, institution_id="ins_1", occupation_code="6-31-01-03",
            level=4, amount_fen=150_001, fund_source="esf-2025", redeemed_at=NOW, valuation_rule="A9",
            rate_percent=101, standard_fen=150_000))
    assert set(violated_fields(err)) == {"valuation_rule", "rate_percent", "amount_fen"}
    assert CLAIM not in db.tables["claims"]


# -- translators -------------------------------------------------------------------------------------
def test_the_voucher_events_carry_the_valuation_and_the_top_up_into_commands():
    redeemed = events_pb2.VoucherRedeemed(
        voucher_id=VOUCHER, holder=events_pb2.PersonRef(name="张三"), institution_id="ins_1",
        occupation_code="6-31-01-03", level=4, value_fen=120_000, fund_source="esf-2025",
        redeemed_at=to_timestamp(NOW), rate_percent=80, valuation_rule="A3", standard_fen=150_000,
        employment_window_end=date_pb2.Date(year=2025, month=6, day=1))
    cmd = on_voucher_redeemed(events_pb2.EventEnvelope(event_id="e1", event_type="voucher.redeemed",
                                                       producer="voucher", payload=redeemed.SerializeToString()))
    assert (cmd.valuation_rule, cmd.rate_percent, cmd.standard_fen, cmd.amount_fen) == ("A3", 80, 150_000, 120_000)
    top_up = events_pb2.VoucherToppedUp(top_up_id=TOP_UP_ID, voucher_id=VOUCHER, value_fen=120_000, top_up_fen=30_000,
                                        standard_fen=150_000, topped_up_at=to_timestamp(LATER),
                                        employment_start=date_pb2.Date(year=2025, month=3, day=10))
    cmd = on_voucher_topped_up(events_pb2.EventEnvelope(event_id="e2", event_type="voucher.topped_up",
                                                        producer="voucher", payload=top_up.SerializeToString()))
    assert cmd == commands.AddTopUpLine(actor=cmd.actor, top_up_id=TOP_UP_ID, voucher_id=VOUCHER, value_fen=120_000,
                                        top_up_fen=30_000, standard_fen=150_000, topped_up_at=LATER)
    assert cmd.actor.request_id == "event:e2"
