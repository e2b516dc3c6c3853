"""Unit tests for claim_svc/domain/model.py: claims, their lines, and payout requests with derived ids."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from claim_svc.domain.model import (
    Claim,
    ClaimKind,
    ClaimState,
    LineKind,
    LineState,
    Payee,
    PayeeKind,
    PayoutRequested,
    claim_id_for_voucher,
    line_id_for,
    payout_request_id_for,
)
from claim_svc.adapters.events import to_outgoing
from ledger_svc.adapters.payments import build_payment_adapters
from skillpay.cli import sample_data
from skillpay.errors import FailedPrecondition, InvalidArgument
from skillpay.events.v1 import events_pb2
from skillpay.pii import PiiVault
from voucher_svc.adapters.events import person_ref
from voucher_svc.service_layer.handlers import identify_person

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
PERSON = Payee(PayeeKind.PERSON, "李小明", "110105********1234", b"sealed", "ab" * 32)
INSTITUTION = Payee(PayeeKind.INSTITUTION, "南阳职业培训学校")


def _claim(payee: Payee = PERSON, amount: int = 150_000, fund: str = "employment_subsidy",
           voucher: str = "vch_1") -> Claim:
    return Claim.for_redeemed_voucher(voucher, payee, "ins_1", "6-01-02-03", 4, amount, fund, NOW)


def _approved(payee: Payee = PERSON) -> tuple[Claim, PayoutRequested]:
    c = _claim(payee)
    c.approve(NOW)
    [event] = c.pull_events()
    return c, event


@pytest.mark.policy("F3")
def test_F3_claim_for_redeemed_voucher_has_one_subsidy_line_from_the_named_fund():
    c = _claim()
    assert (c.kind, c.state, c.fund_source, c.amount_fen) == (ClaimKind.VOUCHER, ClaimState.SUBMITTED,
                                                                "employment_subsidy", 150_000)
    [line] = c.lines
    assert (line.kind, line.amount_fen, line.state, line.attempt) == (LineKind.VOUCHER_SUBSIDY, 150_000,
                                                                      LineState.OPEN, 0)
    assert line.payout_request_id == "" and c.pull_events() == []


@pytest.mark.parametrize("amount", [0, -1, 10**12, True])
def test_claim_needs_a_bounded_positive_amount(amount):
    with pytest.raises(InvalidArgument) as err:
        _claim(amount=amount)
    assert [v.field for v in err.value.violations] == ["amount_fen"]


@pytest.mark.policy("F3")
def test_F3_claim_must_name_its_fund_source():
    with pytest.raises(InvalidArgument, match="F3") as err:
        _claim(fund="")
    assert [v.field for v in err.value.violations] == ["fund_source"]


@pytest.mark.policy("X2")
def test_X2_ids_derive_from_the_voucher_so_a_recreated_claim_has_the_same_ids():
    first, again, other = _claim(), _claim(), _claim(voucher="vch_2")
    assert first.claim_id == again.claim_id == claim_id_for_voucher("vch_1")
    assert first.lines[0].line_id == again.lines[0].line_id == line_id_for(LineKind.VOUCHER_SUBSIDY, "vch_1")
    assert other.claim_id != first.claim_id and other.lines[0].line_id != first.lines[0].line_id
    first.approve(NOW)
    again.approve(NOW + timedelta(days=3))  # re-created later, e.g. after a restore
    assert first.lines[0].payout_request_id == again.lines[0].payout_request_id


@pytest.mark.policy("C7")
def test_C7_approval_requests_a_payout_to_a_persons_social_security_card():
    c, event = _approved()
    assert c.state is ClaimState.APPROVED and c.approved_at == NOW
    line = c.lines[0]
    assert line.state is LineState.PAYOUT_REQUESTED and line.attempt == 1
    assert event.payout_request_id == payout_request_id_for(line.line_id, 1) == line.payout_request_id
    assert (event.channel, event.amount_fen, event.fund_source, event.payee) == ("ssc_card", 150_000,
                                                                                  "employment_subsidy", PERSON)
    assert event.references == {"claim_id": c.claim_id, "claim_line_id": line.line_id, "line_kind": "voucher_subsidy",
                                "voucher_id": "vch_1"}


def test_an_institution_is_paid_by_bank_transfer():
    _, event = _approved(INSTITUTION)
    assert event.channel == "bank_transfer"


def test_only_a_submitted_claim_is_approved():
    c, _ = _approved()
    with pytest.raises(FailedPrecondition, match="approved"):
        c.approve(NOW)


def test_settled_payout_pays_the_line_and_the_claim_once():
    c, event = _approved()
    assert c.payout_settled(event.payout_request_id, NOW) is True
    assert c.state is ClaimState.PAID and c.payment_id == event.payout_request_id and c.paid_at == NOW
    assert c.lines[0].state is LineState.PAID
    assert c.payout_settled(event.payout_request_id, NOW) is False


def test_an_unknown_payout_changes_nothing():
    c, _ = _approved()
    assert c.payout_settled("po_unknown", NOW) is False
    assert c.payout_failed("po_unknown", "x") is False
    assert c.state is ClaimState.APPROVED


def test_failed_payout_then_a_new_attempt_under_a_new_id():
    c, first = _approved()
    assert c.payout_failed(first.payout_request_id, "account_closed") is True
    assert c.state is ClaimState.PAYMENT_FAILED and c.failure_reason == "account_closed"
    c.request_payout_again(NOW)
    [second] = c.pull_events()
    assert second.attempt == 2 and second.payout_request_id != first.payout_request_id
    assert c.state is ClaimState.APPROVED and c.lines[0].state is LineState.PAYOUT_REQUESTED
    # The old attempt's outcome arriving late no longer moves the claim.
    assert c.payout_settled(first.payout_request_id, NOW) is False
    assert c.payout_settled(second.payout_request_id, NOW) is True and c.state is ClaimState.PAID


def test_a_payout_is_requested_again_only_after_a_failure():
    c, _ = _approved()
    with pytest.raises(FailedPrecondition):
        c.request_payout_again(NOW)


@pytest.mark.policy("C7")
@pytest.mark.parametrize("kind", list(PayeeKind))
async def test_C7_every_payout_request_names_a_channel_the_ledger_can_pay_through(kind):
    c = _claim(payee=Payee(kind, "收款人", PERSON.id_masked, PERSON.id_sealed, PERSON.id_lookup))
    c.approve(NOW)
    (event,) = c.pull_events()
    adapters = build_payment_adapters("http://bank.invalid", 1.0)
    try:
        assert event.channel in adapters
    finally:
        for adapter in adapters.values():
            await adapter.aclose()


@pytest.mark.policy("C4")
def test_C4_payout_request_shows_the_resident_id_only_masked():
    # What production feeds: the holder as the voucher service identifies a person and sends it in
    # voucher.redeemed, turned into a payee as the claim service's consumer does.
    rid = sample_data.resident_id(random.Random(5))
    holder = person_ref(identify_person(PiiVault(bytes(32), bytes(range(32))), rid, "李小明"))
    payee = Payee(PayeeKind.PERSON, holder.name, holder.id_masked, holder.id_sealed, holder.id_lookup)
    c = _claim(payee)
    c.approve(NOW)
    (outgoing,) = to_outgoing(c.pull_events()[0])
    sent = outgoing.payload.SerializeToString()
    assert rid.encode() not in sent and rid[6:14].encode() not in sent  # nor the birth date alone
    assert events_pb2.PayoutRequested.FromString(sent).payee.id_masked == rid[:6] + "********" + rid[-4:]
    # The name travels in clear: the bank pays the card by name. A public disclosure (C4) would
    # have to mask it (skillpay.pii.mask_name); there is none yet.


@pytest.mark.policy("X2")
def test_X2_a_claim_restored_from_before_a_re_request_catches_up_with_what_the_ledger_paid():
    # The original: attempt 1 failed, attempt 2 was requested and settled. Then the claim service
    # lost that history and re-created the claim from voucher.redeemed (attempt 1 only).
    original, first = _approved()
    original.payout_failed(first.payout_request_id, "account_closed")
    original.request_payout_again(NOW)
    [second] = original.pull_events()

    restored, again = _approved()
    assert again.payout_request_id == first.payout_request_id
    assert restored.payout_failed(first.payout_request_id, "account_closed") is True
    assert restored.payout_settled(second.payout_request_id, NOW) is True
    assert restored.state is ClaimState.PAID and restored.lines[0].attempt == 2
    assert restored.pull_events() == []  # nothing is requested again: the ledger has attempt 2 already


def test_an_outcome_for_an_attempt_older_than_the_lines_is_stale():
    c, first = _approved()
    c.payout_failed(first.payout_request_id, "account_closed")
    c.request_payout_again(NOW)
    assert c.payout_failed(first.payout_request_id, "account_closed") is False
    assert c.state is ClaimState.APPROVED and c.lines[0].attempt == 2
