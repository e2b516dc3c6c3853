"""Unit tests for the voucher's life after issue (voucher_svc/domain/lifecycle.py and the Voucher
methods it names): expiry (V5), cancellation (V4), revocation (X2), rollback before payment and
redemption again; payments that arrive for a redemption that no longer stands."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from skillpay.errors import FailedPrecondition, InvalidArgument
from tests.unit.test_voucher_domain import (
    NOW,
    STANDARD_FEN,
    _certificate,
    _enrolled,
    _occupation,
    _person,
    _voucher,
)
from voucher_svc.domain.lifecycle import (
    VoucherCancelled,
    VoucherExpired,
    VoucherRedemptionRolledBack,
    VoucherRevoked,
    redemption_id_for,
)
from voucher_svc.domain.model import PayoutStatus, VoucherRedeemed, VoucherState

pytestmark = pytest.mark.unit

ALL_STATES = list(VoucherState)
# A skill-level certificate and no employment known: A3's 80% of the standard.
A3_VALUE = STANDARD_FEN * 80 // 100


def _in_state(state: VoucherState):
    """A voucher brought to ``state`` through its own methods (no field set by hand)."""
    holder = _person(1)
    v = _enrolled(holder, NOW)
    cert = _certificate(holder, NOW)
    if state is VoucherState.ISSUED:
        v = _voucher(holder, NOW)
    elif state in (VoucherState.REDEEMED, VoucherState.PAID):
        v.redeem(cert, _occupation(NOW), NOW)
        if state is VoucherState.PAID:
            v.mark_paid("po_1", NOW + timedelta(days=1))
    elif state is VoucherState.EXPIRED:
        v.expire(v.valid_until)
    elif state is VoucherState.CANCELLED:
        v.cancel("issued by mistake", NOW)
    elif state is VoucherState.REVOKED:
        v.revoke("fake training", NOW)
    v.pull_events()
    assert v.state is state
    return v, cert


def _redeemed():
    v, cert = _in_state(VoucherState.REDEEMED)
    return v, cert


# ------------------------------------------------------------------------------------------ ids
def test_the_first_redemption_keeps_the_voucher_id_and_later_ones_derive_from_it():
    assert redemption_id_for("vch_1", 1) == "vch_1"
    second, third = redemption_id_for("vch_1", 2), redemption_id_for("vch_1", 3)
    assert second == redemption_id_for("vch_1", 2)  # deterministic
    assert len({"vch_1", second, third, redemption_id_for("vch_2", 2)}) == 4
    with pytest.raises(ValueError):
        redemption_id_for("vch_1", 0)


# ------------------------------------------------------------------------------------------ V5 expiry
@pytest.mark.policy("V5", "V4")
@pytest.mark.parametrize("state", [VoucherState.ISSUED, VoucherState.ENROLLED])
def test_V5_an_unused_voucher_expires_at_the_end_of_its_window_with_one_event(state):
    v, _ = _in_state(state)
    assert v.expire(v.valid_until - timedelta(seconds=1)) is False  # not yet
    assert v.state is state and v.pull_events() == []
    assert v.expire(v.valid_until) is True
    assert (v.state, v.ended_at) == (VoucherState.EXPIRED, v.valid_until)
    assert v.pull_events() == [VoucherExpired("vch_1", v.valid_until, v.valid_until)]
    assert v.expire(v.valid_until + timedelta(days=1)) is False  # idempotent: nothing twice
    assert v.pull_events() == []


@pytest.mark.policy("V5")
@pytest.mark.parametrize("state", [VoucherState.REDEEMED, VoucherState.PAID, VoucherState.CANCELLED,
                                   VoucherState.REVOKED, VoucherState.EXPIRED])
def test_V5_a_used_or_ended_voucher_does_not_expire(state):
    v, _ = _in_state(state)
    before = copy.deepcopy(v)
    assert v.expire(v.valid_until + timedelta(days=400)) is False
    assert v == before and v.pull_events() == []


# ------------------------------------------------------------------------------------------ V4 cancel
@pytest.mark.policy("V4")
@pytest.mark.parametrize("state", [VoucherState.ISSUED, VoucherState.ENROLLED])
def test_V4_the_bureau_cancels_an_unused_voucher_with_its_reason(state):
    v, _ = _in_state(state)
    v.cancel("  issued to the wrong batch ", NOW + timedelta(days=2))
    assert (v.state, v.state_reason, v.ended_at) == (VoucherState.CANCELLED, "issued to the wrong batch",
                                                     NOW + timedelta(days=2))
    assert v.pull_events() == [VoucherCancelled("vch_1", "issued to the wrong batch", NOW + timedelta(days=2))]


@pytest.mark.policy("V4")
@pytest.mark.parametrize("state", [VoucherState.REDEEMED, VoucherState.PAID, VoucherState.EXPIRED,
                                   VoucherState.CANCELLED, VoucherState.REVOKED])
def test_V4_a_used_or_ended_voucher_cannot_be_cancelled(state):
    v, _ = _in_state(state)
    before = copy.deepcopy(v)
    with pytest.raises(FailedPrecondition, match="only an issued or enrolled voucher can be cancelled"):
        v.cancel("why not", NOW)
    assert v == before and v.pull_events() == []


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201, "bad\nline", "\u202eevil"])
@pytest.mark.parametrize("method", ["cancel", "revoke", "roll_back_redemption"])
def test_a_missing_oversized_or_unplain_reason_is_invalid_naming_the_field(method, reason):
    v, cert = _in_state(VoucherState.REDEEMED if method == "roll_back_redemption" else VoucherState.ENROLLED)
    before = copy.deepcopy(v)
    with pytest.raises(InvalidArgument) as err:
        if method == "roll_back_redemption":
            v.roll_back_redemption(cert, reason, NOW)
        else:
            getattr(v, method)(reason, NOW)
    assert [f.field for f in err.value.violations] == ["reason"]
    assert "x" * 50 not in str(err.value)  # the value is never echoed
    assert v == before and v.pull_events() == []
    if method == "roll_back_redemption":
        assert cert.redeemed_voucher_id == "vch_1"


# ------------------------------------------------------------------------------------------ X2 revoke
@pytest.mark.policy("X2", "V4")
@pytest.mark.parametrize("state", [VoucherState.ISSUED, VoucherState.ENROLLED])
def test_X2_an_unused_voucher_is_revoked_with_nothing_to_withdraw_or_recover(state):
    v, _ = _in_state(state)
    v.revoke("identity fraud", NOW)
    assert (v.state, v.state_reason, v.recovery_due_fen) == (VoucherState.REVOKED, "identity fraud", 0)
    assert v.pull_events() == [VoucherRevoked("vch_1", "identity fraud", state.value, "", 0, NOW)]


@pytest.mark.policy("X2")
def test_X2_revoking_a_redeemed_unpaid_voucher_withdraws_its_claim_line_and_keeps_the_certificate_used():
    v, cert = _redeemed()
    v.revoke("fake training records", NOW)
    assert v.state is VoucherState.REVOKED and v.recovery_due_fen == 0
    assert cert.redeemed_voucher_id == "vch_1" and v.certificate_id == cert.certificate_id  # not freed (fraud)
    [event] = v.pull_events()
    assert (event.withdrawn_redemption_id, event.previous_state, event.recovery_due_fen) == ("vch_1", "redeemed", 0)


@pytest.mark.policy("X2")
def test_X2_revoking_a_paid_voucher_makes_its_paid_value_due_for_recovery():
    v, cert = _in_state(VoucherState.PAID)
    v.revoke("certificate bought", NOW)
    assert (v.state, v.recovery_due_fen, v.payment_id) == (VoucherState.REVOKED, A3_VALUE, "po_1")
    assert cert.redeemed_voucher_id == "vch_1"
    assert v.audit_state() == "revoked:recovery_due"
    [event] = v.pull_events()
    assert (event.withdrawn_redemption_id, event.previous_state, event.recovery_due_fen) == ("", "paid",
                                                                                           A3_VALUE)
    # the same payment reported again changes nothing (it is the one being recovered)
    assert v.mark_paid("po_1", NOW, "vch_1", A3_VALUE) is False
    assert v.recovery_due_fen == A3_VALUE


@pytest.mark.policy("X2", "V4")
@pytest.mark.parametrize("state", [VoucherState.EXPIRED, VoucherState.CANCELLED, VoucherState.REVOKED])
def test_X2_expired_cancelled_and_revoked_are_terminal(state):
    v, _ = _in_state(state)
    before = copy.deepcopy(v)
    with pytest.raises(FailedPrecondition, match="no longer be revoked"):
        v.revoke("fraud", NOW)
    assert v == before and v.pull_events() == []


# ------------------------------------------------------------------------------------------ rollback
@pytest.mark.policy("V3", "V4")
def test_a_rollback_before_payment_re_enrols_frees_the_certificate_and_names_the_line_to_withdraw():
    v, cert = _redeemed()
    v.payout_failed("rejected by bank: account_closed")
    v.roll_back_redemption(cert, "wrong certificate recorded", NOW + timedelta(hours=1))
    assert (v.state, v.value_fen, v.certificate_id, v.redeemed_at) == (VoucherState.ENROLLED, 0, None, None)
    assert (v.payout_status, v.payout_failure_reason, v.state_reason) == (PayoutStatus.NONE, "",
                                                                          "wrong certificate recorded")
    assert v.redemption_no == 1 and v.institution_id == "ins_1"
    assert cert.redeemed_voucher_id is None and cert.audit_state() == "recorded"
    assert v.pull_events() == [VoucherRedemptionRolledBack("vch_1", "vch_1", 1, cert.certificate_id, A3_VALUE,
                                                           "wrong certificate recorded", NOW + timedelta(hours=1))]


@pytest.mark.policy("X2")
def test_X2_a_paid_redemption_cannot_be_rolled_back_only_recovered():
    v, cert = _in_state(VoucherState.PAID)
    before, cert_before = copy.deepcopy(v), copy.deepcopy(cert)
    with pytest.raises(FailedPrecondition, match="only a recovery is possible after payment") as err:
        v.roll_back_redemption(cert, "too late", NOW)
    assert [(x.type, x.subject) for x in err.value.violations] == [("X2", "voucher")]
    assert v == before and cert == cert_before and v.pull_events() == []


@pytest.mark.policy("V4")
@pytest.mark.parametrize("state", [VoucherState.ISSUED, VoucherState.ENROLLED, VoucherState.EXPIRED,
                                   VoucherState.CANCELLED, VoucherState.REVOKED])
def test_V4_only_a_redeemed_voucher_has_a_redemption_to_roll_back(state):
    v, _ = _in_state(state)
    before = copy.deepcopy(v)
    with pytest.raises(FailedPrecondition, match="only a redeemed voucher"):
        v.roll_back_redemption(None, "nothing to undo", NOW)
    assert v == before


@pytest.mark.policy("V3", "V4")
def test_after_a_rollback_the_voucher_is_redeemed_again_as_a_new_redemption():
    v, cert = _redeemed()
    v.roll_back_redemption(cert, "wrong certificate", NOW)
    v.pull_events()
    again = NOW + timedelta(days=1)
    v.redeem(cert, _occupation(NOW, standard=120_000), again)  # the same certificate, free again
    second = redemption_id_for("vch_1", 2)
    assert (v.state, v.redemption_no, v.redemption_id, v.value_fen) == (VoucherState.REDEEMED, 2, second, 96_000)  # A3: 80%
    [event] = v.pull_events()
    assert isinstance(event, VoucherRedeemed) and (event.redemption_id, event.redemption_no) == (second, 2)
    assert cert.redeemed_voucher_id == "vch_1"


# ------------------------------------------------------------------------------------------ late payments
@pytest.mark.policy("X2", "V4")
def test_X2_a_payout_of_a_rolled_back_redemption_that_settles_records_a_recovery_and_keeps_the_state():
    v, cert = _redeemed()
    v.roll_back_redemption(cert, "wrong certificate", NOW)
    assert v.mark_paid("po_1", NOW, "vch_1", A3_VALUE) is True
    assert (v.state, v.payment_id, v.recovery_due_fen) == (VoucherState.ENROLLED, None, A3_VALUE)
    assert v.audit_state() == "enrolled:recovery_due"
    assert v.mark_paid("po_1", NOW, "vch_1", A3_VALUE) is False  # a duplicate counts once
    assert v.recovery_due_fen == A3_VALUE
    # redeemed again and paid: the current redemption's payment pays the voucher as usual
    v.redeem(cert, _occupation(NOW), NOW)
    assert v.payout_failed("old attempt failed", "vch_1") is False  # the rolled-back one's failure: ignored
    assert v.payout_status is PayoutStatus.PENDING
    assert v.mark_paid("po_2", NOW, v.redemption_id, A3_VALUE) is True
    assert (v.state, v.payment_id, v.recovery_due_fen) == (VoucherState.PAID, "po_2", A3_VALUE)
    assert v.audit_state() == "paid:recovery_due"


@pytest.mark.policy("X2")
def test_X2_a_revoked_redeemed_voucher_whose_payout_settles_after_all_has_a_recovery_due():
    v, _ = _redeemed()
    v.revoke("fraud", NOW)
    assert v.mark_paid("po_1", NOW, "vch_1", A3_VALUE) is True
    assert (v.state, v.recovery_due_fen, v.recovery_payment_ids) == (VoucherState.REVOKED, A3_VALUE, ("po_1",))


@pytest.mark.policy("V4")
def test_V4_a_payment_naming_no_redemption_of_the_voucher_is_refused():
    v, _ = _redeemed()
    before = copy.deepcopy(v)
    with pytest.raises(FailedPrecondition):
        v.mark_paid("po_x", NOW, redemption_id_for("vch_1", 2), 1)
    assert v == before
