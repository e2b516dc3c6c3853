"""The voucher's life after issue, besides redemption (V4, V5, X2): its events and their ids.

V4 states: issued -> enrolled -> redeemed -> paid, plus expired (V5, by the sweep at the end of
the validity window), cancelled (the bureau, with a reason) and revoked (fraud, X2). Expired,
cancelled and revoked are terminal. A redemption rolled back by the bureau before payment sends
the voucher back to enrolled, with its certificate free again; it may then be redeemed again.

Each redemption of a voucher has a number (1 for the first) and a deterministic id, the cause of
the claim line that pays it. The first redemption's id is the voucher id itself, so the claim
lines and payout request ids of vouchers redeemed before rollbacks existed stay what they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from skillpay import fields
from skillpay.errors import FieldViolation, require
from skillpay.ids import derived_id

if TYPE_CHECKING:  # model.py builds on this module
    from voucher_svc.domain.model import PersonIdentity

# The reason the bureau gives for a cancellation, revocation or rollback: one line, bounded.
REASON = fields.Text(200)


def redemption_id_for(voucher_id: str, redemption_no: int) -> str:
    """Deterministic: the first redemption keeps today's id (the voucher id), later ones derive from it."""
    if redemption_no < 1:
        raise ValueError("redemptions are numbered from 1")
    return voucher_id if redemption_no == 1 else derived_id("rdm", voucher_id, redemption_no)


def checked_reason(reason: object, field: str = "reason") -> str:
    """INVALID_ARGUMENT naming the field when the reason is missing, too long or not plain text."""
    violations: list[FieldViolation] = []
    reason = REASON.check(reason, field, violations)
    require(violations)
    return reason


@dataclass(frozen=True)
class VoucherIssued:
    """V1, V4: a real-name voucher was issued (one by one, or claimed from a quota batch; a listed
    batch's chunk announces its vouchers together as voucher.batch_issued)."""

    voucher_id: str
    holder: PersonIdentity
    kind: str
    occupation_code: str  # "" for a general voucher until enrolment chooses
    level: int
    fund_source: str
    batch_id: str
    valid_until: datetime
    issued_at: datetime


@dataclass(frozen=True)
class VoucherEnrolled:
    """V2, V4: the holder presented the voucher in person and the institution enrolled it."""

    voucher_id: str
    institution_id: str
    occupation_code: str
    level: int
    enrolled_at: datetime


@dataclass(frozen=True)
class VoucherPaid:
    """V4: the subsidy of the voucher's current redemption landed (the ledger's payment.settled)."""

    voucher_id: str
    payment_id: str
    redemption_id: str
    value_fen: int
    paid_at: datetime


@dataclass(frozen=True)
class VoucherExpired:
    """V5: the validity window ended before the voucher was redeemed."""

    voucher_id: str
    valid_until: datetime
    expired_at: datetime


@dataclass(frozen=True)
class VoucherCancelled:
    voucher_id: str
    reason: str
    cancelled_at: datetime


@dataclass(frozen=True)
class VoucherRedemptionRolledBack:
    """The bureau undid a redemption before payment: its claim line (keyed on redemption_id) is withdrawn."""

    voucher_id: str
    redemption_id: str
    redemption_no: int
    certificate_id: str
    value_fen: int
    reason: str
    rolled_back_at: datetime


@dataclass(frozen=True)
class VoucherRevoked:
    """X2: revoked for fraud. ``withdrawn_redemption_id`` names the unpaid redemption whose claim line
    is withdrawn ("" if none); ``recovery_due_fen`` is what was already paid and must be recovered."""

    voucher_id: str
    reason: str
    previous_state: str
    withdrawn_redemption_id: str
    recovery_due_fen: int
    revoked_at: datetime
