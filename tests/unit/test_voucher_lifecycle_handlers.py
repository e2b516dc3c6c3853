"""voucher_svc's lifecycle commands on the in-memory unit of work, through the real bus:
ExpireDueVouchers (V5), CancelVoucher (V4), RevokeVoucher (X2), RollBackRedemption, and the
payments that arrive for a redemption that no longer stands; plus the scheduled sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from skillpay.actors import Actor, ActorKind, service_actor
from skillpay.clock import FixedClock
from skillpay.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from skillpay.events.v1 import events_pb2
from tests.fakes import FakeFundDirectory, FakeVoucherUnitOfWork
from tests.presenting import presented
from tests.unit.test_voucher_handlers import (
    ADMIN,
    LEDGER,
    NOW,
    RID,
    STANDARD,
    VALID_UNTIL,
    VAULT,
    as_institution,
    certificate,
    enrolled_voucher,
    institution,
    issue,
    nothing_stored,
    occupation,
    redeem,
    redeemed_voucher,
    violated_fields,
)
from voucher_svc.bootstrap import bootstrap
from voucher_svc.domain.lifecycle import redemption_id_for
from voucher_svc.domain.model import VoucherState
from voucher_svc.entrypoints.expiry import ExpirySweeper
from voucher_svc.entrypoints.grpc_server import on_payment_failed, on_payment_settled
from voucher_svc.service_layer import commands

pytestmark = pytest.mark.unit

SWEEPER = service_actor("voucher")


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def db(clock):
    return FakeVoucherUnitOfWork.factory(clock).db


@pytest.fixture
def bus(db, clock):
    return bootstrap(FakeVoucherUnitOfWork.factory(clock, db), VAULT, FakeFundDirectory({"esf-2025"}), clock=clock)


def stored(db, voucher_id):
    return db.tables["vouchers"][voucher_id]


async def many_vouchers(bus, n, valid_until=VALID_UNTIL):
    await occupation(bus)
    return [await issue(bus, valid_until=valid_until) for _ in range(n)]


# -- ExpireDueVouchers (V5) ------------------------------------------------------------------------
@pytest.mark.policy("V5", "V4")
async def test_V5_the_sweep_expires_what_is_due_in_chunks_once_each_with_an_event_and_an_audit_record(bus, db,
                                                                                                         clock):
    due = await many_vouchers(bus, 5)
    ins = await institution(bus)
    await bus.handle(commands.EnrolVoucher(actor=as_institution(ins.institution_id), voucher_id=due[0].voucher_id,
                                           institution_id=ins.institution_id, real_person_verified=True,
                                           presentation_token=await presented(bus, due[0])))
    later = await issue(bus, valid_until=VALID_UNTIL + timedelta(days=1))
    commits = db.commits
    assert await bus.handle(commands.ExpireDueVouchers(actor=SWEEPER, now=VALID_UNTIL, limit=2)) == 5
    assert db.commits - commits == 3  # chunks of 2, 2, 1: one transaction each
    assert all(stored(db, v.voucher_id).state is VoucherState.EXPIRED for v in due)
    assert stored(db, later.voucher_id).state is VoucherState.ISSUED
    events = db.events_of_type("voucher.expired")
    assert sorted(e.aggregate_id for e in events) == sorted(v.voucher_id for v in due)
    assert events[0].payload.expired_at.ToDatetime().replace(tzinfo=VALID_UNTIL.tzinfo) == VALID_UNTIL
    records = [r for r in db.audit_records if r.command == "ExpireDueVouchers"]
    assert sorted((r.aggregate_id, r.state_after) for r in records) == sorted((v.voucher_id, "expired") for v in due)
    assert {(r.actor_kind, r.actor_subject) for r in records} == {("service", "voucher")}
    assert {r.state_before for r in records} == {"issued", "enrolled"}
    # again: nothing expires twice, nothing is emitted twice
    with nothing_stored(db):
        assert await bus.handle(commands.ExpireDueVouchers(actor=SWEEPER, now=VALID_UNTIL, limit=2)) == 0


@pytest.mark.policy("V5")
async def test_V5_without_a_time_the_sweep_uses_the_clock(bus, db, clock):
    [voucher] = await many_vouchers(bus, 1)
    assert await bus.handle(commands.ExpireDueVouchers(actor=ADMIN.for_request("sweep-1"))) == 0
    clock.advance(VALID_UNTIL - NOW)
    assert await bus.handle(commands.ExpireDueVouchers(actor=ADMIN.for_request("sweep-2"))) == 1
    assert stored(db, voucher.voucher_id).ended_at == VALID_UNTIL


@pytest.mark.parametrize("limit", [0, -1, 1001, True])
async def test_a_sweep_chunk_out_of_bounds_is_invalid_naming_limit(bus, db, limit):
    await many_vouchers(bus, 1)
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.ExpireDueVouchers(actor=SWEEPER, now=VALID_UNTIL, limit=limit))
    assert violated_fields(err) == {"limit"}


async def test_only_the_bureau_or_the_service_itself_sweeps(bus, db):
    await many_vouchers(bus, 1)
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await bus.handle(commands.ExpireDueVouchers(actor=as_institution("ins_1"), now=VALID_UNTIL))


@pytest.mark.policy("V5")
async def test_V5_the_enrol_and_redeem_refusal_after_the_window_stays_before_the_sweep(bus, db, clock):
    voucher, ins = await enrolled_voucher(bus)
    cert = await certificate(bus)
    clock.advance(VALID_UNTIL - NOW)
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="V5"):
        await redeem(bus, voucher.voucher_id, cert.certificate_id, as_institution(ins.institution_id))


# -- the scheduled sweep ---------------------------------------------------------------------------
class StopAfter:
    """asyncio.sleep stand-in: records each interval, moves the clock, ends the loop after n ticks."""

    def __init__(self, clock, ticks: int):
        self.clock, self.ticks, self.slept = clock, ticks, []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))
        if len(self.slept) >= self.ticks:
            raise asyncio.CancelledError


@pytest.mark.policy("V5")
async def test_V5_the_process_sweeps_by_itself_every_interval_with_the_injected_clock(bus, db, clock):
    [voucher] = await many_vouchers(bus, 1, valid_until=NOW + timedelta(seconds=150))
    sleep = StopAfter(clock, ticks=4)
    sweeper = ExpirySweeper(bus, clock, interval_s=60, chunk=50, sleep=sleep)
    with pytest.raises(asyncio.CancelledError):
        await sweeper.run()
    assert sleep.slept == [60, 60, 60, 60] and sweeper.sweeps == 4
    v = stored(db, voucher.voucher_id)
    assert (v.state, v.ended_at) == (VoucherState.EXPIRED, NOW + timedelta(seconds=180))  # the fourth sweep (t=180 s)
    assert len(db.events_of_type("voucher.expired")) == 1


async def test_a_failing_sweep_is_logged_and_tried_again_at_the_next_tick(clock, caplog):
    calls = []

    class FlakyBus:
        async def handle(self, command):
            calls.append(command)
            if len(calls) == 1:
                raise OSError("database away")
            return 0

    sweeper = ExpirySweeper(FlakyBus(), clock, interval_s=5, chunk=10, sleep=StopAfter(clock, ticks=2))
    with pytest.raises(asyncio.CancelledError):
        await sweeper.run()
    assert len(calls) == 2 and all(c.limit == 10 and c.actor.kind is ActorKind.SERVICE for c in calls)
    assert "expiry sweep failed (OSError)" in caplog.text


# -- CancelVoucher (V4) ----------------------------------------------------------------------------
@pytest.mark.policy("V4")
async def test_V4_the_bureau_cancels_an_enrolled_voucher_with_an_event_and_an_audit_record(bus, db):
    voucher, _ = await enrolled_voucher(bus)
    reply = await bus.handle(commands.CancelVoucher(actor=ADMIN, voucher_id=voucher.voucher_id,
                                                    reason="person moved away"))
    v = stored(db, voucher.voucher_id)
    assert (reply.state, v.state, v.state_reason, v.ended_at) == (VoucherState.CANCELLED, VoucherState.CANCELLED,
                                                                  "person moved away", NOW)
    [event] = db.events_of_type("voucher.cancelled")
    assert (event.payload.voucher_id, event.payload.reason) == (voucher.voucher_id, "person moved away")
    last = db.audit_for(voucher.voucher_id)[-1]
    assert (last.command, last.state_before, last.state_after, last.actor_kind) == (
        "CancelVoucher", "enrolled", "cancelled", "admin")


async def test_cancel_names_every_bad_field_at_once_and_finds_no_voucher_for_an_unknown_id(bus, db):
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.CancelVoucher(actor=ADMIN, voucher_id="x" * 100_000, reason="y" * 300))
    assert violated_fields(err) == {"voucher_id", "reason"} and len(str(err.value)) < 500
    with nothing_stored(db), pytest.raises(NotFound):
        await bus.handle(commands.CancelVoucher(actor=ADMIN, voucher_id="vch_missing", reason="r"))


@pytest.mark.policy("V4")
async def test_V4_a_redeemed_voucher_cannot_be_cancelled_and_only_the_bureau_cancels(bus, db):
    voucher, ins, _ = await redeemed_voucher(bus)
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="V4"):
        await bus.handle(commands.CancelVoucher(actor=ADMIN, voucher_id=voucher.voucher_id, reason="r"))
    for actor in (as_institution(ins.institution_id), Actor(ActorKind.FINANCE, "f"), LEDGER):
        for command in (commands.CancelVoucher, commands.RevokeVoucher, commands.RollBackRedemption):
            with nothing_stored(db), pytest.raises(PermissionDenied):
                await bus.handle(command(actor=actor, voucher_id=voucher.voucher_id, reason="r"))


# -- RevokeVoucher (X2) ----------------------------------------------------------------------------
@pytest.mark.policy("X2")
async def test_X2_revoking_a_paid_voucher_records_the_recovery_due_and_says_so_in_its_event(bus, db):
    voucher, _, cert = await redeemed_voucher(bus)
    value = stored(db, voucher.voucher_id).value_fen  # A3: 80% of the standard
    assert value == STANDARD * 80 // 100
    await bus.handle(commands.MarkVoucherPaid(actor=LEDGER, voucher_id=voucher.voucher_id, payment_id="po_1",
                                              paid_at=NOW, amount_fen=value))
    await bus.handle(commands.RevokeVoucher(actor=ADMIN, voucher_id=voucher.voucher_id, reason="fake training"))
    v = stored(db, voucher.voucher_id)
    assert (v.state, v.recovery_due_fen) == (VoucherState.REVOKED, value)
    assert db.tables["certificates"][cert.certificate_id].redeemed_voucher_id == voucher.voucher_id
    [event] = db.events_of_type("voucher.revoked")
    assert (event.payload.previous_state, event.payload.recovery_due_fen, event.payload.withdrawn_redemption_id) == (
        "paid", value, "")
    assert db.audit_for(voucher.voucher_id)[-1].state_after == "revoked:recovery_due"
    assert db.person_locks[-1] == stored(db, voucher.voucher_id).holder.id_lookup
    with nothing_stored(db), pytest.raises(FailedPrecondition):  # terminal
        await bus.handle(commands.RevokeVoucher(actor=ADMIN, voucher_id=voucher.voucher_id, reason="again"))


@pytest.mark.policy("X2")
async def test_X2_revoking_a_redeemed_voucher_withdraws_its_line_and_does_not_free_the_certificate(bus, db):
    voucher, _, cert = await redeemed_voucher(bus)
    await bus.handle(commands.RevokeVoucher(actor=ADMIN, voucher_id=voucher.voucher_id, reason="certificate sold"))
    [event] = db.events_of_type("voucher.revoked")
    assert (event.payload.withdrawn_redemption_id, event.payload.recovery_due_fen) == (voucher.voucher_id, 0)
    assert db.tables["certificates"][cert.certificate_id].redeemed_voucher_id == voucher.voucher_id


# -- RollBackRedemption ------------------------------------------------------------------------------
@pytest.mark.policy("V3", "V4", "X2")
async def test_rollback_frees_the_certificate_and_the_voucher_is_redeemed_again_under_a_new_redemption(bus, db):
    voucher, ins, cert = await redeemed_voucher(bus)
    reply = await bus.handle(commands.RollBackRedemption(actor=ADMIN, voucher_id=voucher.voucher_id,
                                                         reason="assessment annulled"))
    v = stored(db, voucher.voucher_id)
    assert (reply.state, v.state, v.value_fen, v.certificate_id) == (VoucherState.ENROLLED, VoucherState.ENROLLED,
                                                                     0, None)
    assert db.tables["certificates"][cert.certificate_id].redeemed_voucher_id is None
    [event] = db.events_of_type("voucher.redemption_rolled_back")
    assert (event.payload.redemption_id, event.payload.redemption_no, event.payload.reason) == (
        voucher.voucher_id, 1, "assessment annulled")
    audit = {(r.aggregate_type, r.state_before, r.state_after) for r in db.audit_records
             if r.command == "RollBackRedemption"}
    assert audit == {("voucher", "redeemed", "enrolled"), ("certificate", "redeemed", "recorded")}
    # the same certificate redeems it again: a second redemption with an id of its own
    await redeem(bus, voucher.voucher_id, cert.certificate_id, as_institution(ins.institution_id))
    first, second = db.events_of_type("voucher.redeemed")
    assert (first.payload.redemption_id, first.payload.redemption_no) == (voucher.voucher_id, 1)
    assert (second.payload.redemption_id, second.payload.redemption_no) == (redemption_id_for(voucher.voucher_id, 2),
                                                                            2)
    assert stored(db, voucher.voucher_id).state is VoucherState.REDEEMED


@pytest.mark.policy("X2")
async def test_X2_rollback_after_payment_is_refused_naming_X2_and_changes_nothing(bus, db):
    voucher, _, _ = await redeemed_voucher(bus)
    await bus.handle(commands.MarkVoucherPaid(actor=LEDGER, voucher_id=voucher.voucher_id, payment_id="po_1",
                                              paid_at=NOW))
    with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
        await bus.handle(commands.RollBackRedemption(actor=ADMIN, voucher_id=voucher.voucher_id, reason="late"))
    assert [v.type for v in err.value.violations] == ["X2"]
    assert "only a recovery is possible after payment" in str(err.value)


async def test_rollback_of_an_unredeemed_voucher_or_without_a_reason_changes_nothing(bus, db):
    voucher, _ = await enrolled_voucher(bus)
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="only a redeemed voucher"):
        await bus.handle(commands.RollBackRedemption(actor=ADMIN, voucher_id=voucher.voucher_id, reason="r"))
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.RollBackRedemption(actor=ADMIN, voucher_id=voucher.voucher_id, reason=""))
    assert violated_fields(err) == {"reason"}


# -- payments for a redemption that no longer stands ---------------------------------------------
@pytest.mark.policy("X2", "V4")
async def test_X2_a_payment_settled_after_a_rollback_records_a_recovery_without_failing_or_changing_state(bus, db):
    voucher, ins, cert = await redeemed_voucher(bus)
    await bus.handle(commands.RollBackRedemption(actor=ADMIN, voucher_id=voucher.voucher_id, reason="annulled"))
    settled = commands.MarkVoucherPaid(actor=LEDGER, voucher_id=voucher.voucher_id, payment_id="po_1", paid_at=NOW,
                                       redemption_id=voucher.voucher_id, amount_fen=STANDARD)
    await bus.handle(settled)  # no FailedPrecondition: the consumer would park the event
    v = stored(db, voucher.voucher_id)
    assert (v.state, v.recovery_due_fen, v.payment_id) == (VoucherState.ENROLLED, STANDARD, None)
    assert db.audit_for(voucher.voucher_id)[-1].state_after == "enrolled:recovery_due"
    with nothing_stored(db):
        await bus.handle(settled)  # redelivered: counted once
    # redeemed again; the second redemption's payment pays the voucher
    await redeem(bus, voucher.voucher_id, cert.certificate_id, as_institution(ins.institution_id))
    await bus.handle(commands.MarkVoucherPaid(actor=LEDGER, voucher_id=voucher.voucher_id, payment_id="po_2",
                                              paid_at=NOW, redemption_id=redemption_id_for(voucher.voucher_id, 2),
                                              amount_fen=STANDARD))
    v = stored(db, voucher.voucher_id)
    assert (v.state, v.payment_id, v.recovery_due_fen) == (VoucherState.PAID, "po_2", STANDARD)


def _envelope(kind: str, message) -> events_pb2.EventEnvelope:
    return events_pb2.EventEnvelope(event_id="e1", event_type=kind, producer="ledger",
                                    payload=message.SerializeToString())


def test_payment_events_carry_the_redemption_and_amount_to_the_voucher_commands():
    settled = on_payment_settled(_envelope("payment.settled", events_pb2.PaymentSettled(
        payment_id="po_2", amount_fen=STANDARD, references={"voucher_id": "vch_1", "redemption_id": "rdm_2"})))
    assert (settled.voucher_id, settled.payment_id, settled.redemption_id, settled.amount_fen) == (
        "vch_1", "po_2", "rdm_2", STANDARD)
    older = on_payment_settled(_envelope("payment.settled", events_pb2.PaymentSettled(
        payment_id="po_1", references={"voucher_id": "vch_1"})))
    assert older.redemption_id is None  # requested before redemptions had ids: the current one
    failed = on_payment_failed(_envelope("payment.failed", events_pb2.PaymentFailed(
        payment_id="po_1", reason="x", references={"voucher_id": "vch_1", "redemption_id": "vch_1"})))
    assert failed.redemption_id == "vch_1"


async def test_the_voucher_reply_shows_its_redemption_reason_and_recovery(bus, db):
    from voucher_svc.entrypoints import mappers

    voucher, _, _ = await redeemed_voucher(bus)
    await bus.handle(commands.RollBackRedemption(actor=ADMIN, voucher_id=voucher.voucher_id, reason="annulled"))
    await bus.handle(commands.MarkVoucherPaid(actor=LEDGER, voucher_id=voucher.voucher_id, payment_id="po_1",
                                              paid_at=NOW, redemption_id=voucher.voucher_id, amount_fen=STANDARD))
    message = mappers.voucher(stored(db, voucher.voucher_id))
    assert (message.redemption_no, message.redemption_id, message.state_reason, message.recovery_due_fen) == (
        1, voucher.voucher_id, "annulled", STANDARD)
    assert RID not in str(message)
