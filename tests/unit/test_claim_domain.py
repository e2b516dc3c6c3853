"""Unit tests for claim_svc/domain/model.py: claims for redeemed vouchers, approval (C7), payment outcome."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from claim_svc.domain.model import (
    Claim,
    ClaimApproved,
    ClaimKind,
    ClaimState,
    Payee,
    PayeeKind,
)
from claim_svc.adapters.events import to_outgoing
from ledger_svc.adapters.payments import build_payment_adapters
from skillpay import sample_data
from skillpay.errors import FailedPrecondition
from skillpay.events.v1 import events_pb2
from skillpay.pii import PiiVault
from voucher_svc.adapters.events import person_ref
from voucher_svc.service_layer.services import identify_person

pytestmark = pytest.mark.unit

PERSON = Payee(PayeeKind.PERSON, "李*明", "110105********1234", b"sealed", "lookup")
INSTITUTION = Payee(PayeeKind.INSTITUTION, "南阳职业培训学校")


NOW = datetime(2025, 6, 30, 18, 30, tzinfo=timezone.utc)  # fixed: no test depends on when it runs


def _now() -> datetime:
    return NOW


def _claim(now: datetime, payee: Payee = PERSON, amount: int = 150_000, fund: str = "employment_subsidy") -> Claim:
    return Claim.for_redeemed_voucher("clm_1", "vch_1", payee, "ins_1", "6-01-02-03", 4, amount, fund, now)


def _approved(now: datetime, payee: Payee = PERSON) -> Claim:
    c = _claim(now, payee)
    c.approve(now)
    c.pull_events()
    return c


# ---------------------------------------------------------------------------------------- creation


@pytest.mark.policy("F3")
def test_F3_claim_for_redeemed_voucher_records_amount_and_fund_source():
    now = _now()
    c = _claim(now)
    assert c.kind is ClaimKind.VOUCHER
    assert c.state is ClaimState.SUBMITTED
    assert (c.voucher_id, c.institution_id, c.occupation_code, c.level) == ("vch_1", "ins_1", "6-01-02-03", 4)
    assert (c.amount_fen, c.fund_source, c.created_at) == (150_000, "employment_subsidy", now)
    assert c.approved_at is None and c.paid_at is None and c.payment_id is None
    assert c.pull_events() == []


@pytest.mark.parametrize("amount", [0, -1, -150_000])
def test_claim_needs_a_positive_amount(amount):
    with pytest.raises(FailedPrecondition, match="positive"):
        _claim(_now(), amount=amount)


@pytest.mark.policy("F3")
def test_F3_claim_must_name_its_fund_source():
    with pytest.raises(FailedPrecondition, match="F3"):
        _claim(_now(), fund="")


# ---------------------------------------------------------------------------------------- approve (C7)


@pytest.mark.policy("C7")
def test_C7_approved_claim_for_a_person_is_paid_through_the_ssc_card():
    now = _now()
    c = _claim(now)
    later = now + timedelta(hours=1)
    c.approve(later)
    assert c.state is ClaimState.APPROVED and c.approved_at == later
    assert c.pull_events() == [ClaimApproved(
        claim_id="clm_1", voucher_id="vch_1", payee=PERSON, channel="ssc_card", institution_id="ins_1",
        amount_fen=150_000, fund_source="employment_subsidy", approved_at=later)]
    assert c.pull_events() == []


@pytest.mark.policy("C7")
def test_C7_approved_claim_for_an_institution_goes_by_bank_transfer_not_ssc_card():
    now = _now()
    c = _claim(now, payee=INSTITUTION)
    c.approve(now)
    (event,) = c.pull_events()
    assert event.channel == "bank_transfer"
    assert event.payee == INSTITUTION


@pytest.mark.policy("C7")
@pytest.mark.parametrize("kind", list(PayeeKind))
async def test_C7_every_approved_claim_names_a_channel_the_ledger_can_pay_through(kind):
    c = _claim(_now(), payee=Payee(kind, "收款人"))
    c.approve(_now())
    (event,) = c.pull_events()
    adapters = build_payment_adapters("http://bank.invalid", 1.0)
    try:
        assert event.channel in adapters
    finally:
        for adapter in adapters.values():
            await adapter.aclose()


@pytest.mark.policy("C4")
def test_C4_approved_event_shows_the_resident_id_only_masked():
    # What production feeds: the holder as the voucher service identifies a person and sends it in
    # voucher.redeemed, turned into a payee as the claim service's consumer does.
    rid = sample_data.resident_id(random.Random(5))
    holder = person_ref(identify_person(PiiVault(bytes(32), bytes(range(32))), rid, "李小明"))
    payee = Payee(PayeeKind.PERSON, holder.name, holder.id_masked, holder.id_sealed, holder.id_lookup)
    c = _claim(_now(), payee)
    c.approve(_now())
    (outgoing,) = to_outgoing(c.pull_events()[0])
    sent = outgoing.payload.SerializeToString()
    assert rid.encode() not in sent and rid[6:14].encode() not in sent  # nor the birth date alone
    assert events_pb2.ClaimApproved.FromString(sent).payee.id_masked == rid[:6] + "********" + rid[-4:]
    # The name travels in clear: the bank pays the card by name. A public disclosure (C4) would
    # have to mask it (skillpay.pii.mask_name); there is none yet.


@pytest.mark.parametrize("state", [ClaimState.APPROVED, ClaimState.PAID, ClaimState.REJECTED,
                                   ClaimState.PAYMENT_FAILED])
def test_only_a_submitted_claim_can_be_approved(state):
    now = _now()
    c = _claim(now)
    c.state = state
    with pytest.raises(FailedPrecondition):
        c.approve(now)
    assert c.state is state and c.approved_at is None
    assert c.pull_events() == []


def test_approve_twice_records_one_event():
    now = _now()
    c = _claim(now)
    c.approve(now)
    with pytest.raises(FailedPrecondition):
        c.approve(now + timedelta(minutes=1))
    assert len(c.pull_events()) == 1
    assert c.approved_at == now


# ---------------------------------------------------------------------------------------- payment outcome


def test_mark_paid_moves_approved_claim_to_paid():
    now = _now()
    c = _approved(now)
    paid_at = now + timedelta(days=1)
    assert c.mark_paid("pay_1", paid_at) is True
    assert (c.state, c.payment_id, c.paid_at) == (ClaimState.PAID, "pay_1", paid_at)


def test_mark_paid_is_idempotent():
    now = _now()
    c = _approved(now)
    assert c.mark_paid("pay_1", now) is True
    assert c.mark_paid("pay_1", now + timedelta(days=1)) is False
    assert c.mark_paid("pay_other", now + timedelta(days=2)) is False
    assert (c.state, c.payment_id, c.paid_at) == (ClaimState.PAID, "pay_1", now)


@pytest.mark.parametrize("state", [ClaimState.SUBMITTED, ClaimState.REJECTED])
def test_mark_paid_refuses_a_claim_that_was_never_approved(state):
    now = _now()
    c = _claim(now)
    c.state = state
    with pytest.raises(FailedPrecondition):
        c.mark_paid("pay_1", now)
    assert c.state is state and c.payment_id is None


def test_mark_payment_failed_records_reason_once():
    now = _now()
    c = _approved(now)
    assert c.mark_payment_failed("pay_1", "account closed") is True
    assert (c.state, c.payment_id, c.failure_reason) == (ClaimState.PAYMENT_FAILED, "pay_1", "account closed")
    assert c.mark_payment_failed("pay_1", "again") is False
    assert c.failure_reason == "account closed"


@pytest.mark.parametrize("state", [ClaimState.SUBMITTED, ClaimState.PAID, ClaimState.REJECTED])
def test_mark_payment_failed_changes_nothing_outside_approved(state):
    now = _now()
    c = _claim(now)
    c.state = state
    assert c.mark_payment_failed("pay_1", "x") is False
    assert c.state is state and c.failure_reason is None and c.payment_id is None


def test_paid_claim_is_not_turned_into_failed_by_a_late_failure():
    now = _now()
    c = _approved(now)
    c.mark_paid("pay_1", now)
    assert c.mark_payment_failed("pay_1", "late failure") is False
    assert c.state is ClaimState.PAID and c.failure_reason is None


def test_failed_payment_can_later_be_paid_and_clears_the_reason():
    now = _now()
    c = _approved(now)
    c.mark_payment_failed("pay_1", "bank down")
    assert c.mark_paid("pay_2", now + timedelta(days=1)) is True
    assert (c.state, c.payment_id, c.failure_reason) == (ClaimState.PAID, "pay_2", None)
