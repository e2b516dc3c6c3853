"""Claims for subsidies (rules C1-C7; the review workflow and project tranches come later)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from skillpay.aggregate import Aggregate
from skillpay.errors import FailedPrecondition


class ClaimKind(enum.Enum):
    VOUCHER = "voucher"
    PROJECT = "project"


class PayeeKind(enum.Enum):
    PERSON = "person"
    INSTITUTION = "institution"


class ClaimState(enum.Enum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    PAYMENT_FAILED = "payment_failed"


@dataclass(frozen=True)
class Payee:
    """Who receives the money. A person's ID number stays sealed; only the masked form is shown."""

    kind: PayeeKind
    name: str
    id_masked: str = ""
    id_sealed: bytes = b""
    id_lookup: str = ""


@dataclass(frozen=True)
class ClaimApproved:
    claim_id: str
    voucher_id: str
    payee: Payee
    channel: str
    institution_id: str
    amount_fen: int
    fund_source: str
    approved_at: datetime


# C7: subsidies to persons go to the social security card's financial account.
CHANNEL_FOR_PAYEE = {PayeeKind.PERSON: "ssc_card", PayeeKind.INSTITUTION: "bank_transfer"}


@dataclass
class Claim(Aggregate):
    claim_id: str
    kind: ClaimKind
    voucher_id: str
    payee: Payee
    institution_id: str
    occupation_code: str
    level: int
    amount_fen: int
    fund_source: str
    created_at: datetime
    state: ClaimState = ClaimState.SUBMITTED
    approved_at: datetime | None = None
    paid_at: datetime | None = None
    payment_id: str | None = None
    failure_reason: str | None = None
    version: int = field(default=0, compare=False)

    @classmethod
    def for_redeemed_voucher(cls, claim_id: str, voucher_id: str, payee: Payee, institution_id: str,
                             occupation_code: str, level: int, amount_fen: int, fund_source: str,
                             now: datetime) -> "Claim":
        """One claim per redeemed voucher, for the voucher's fixed value from its fund source (F3)."""
        if amount_fen <= 0:
            raise FailedPrecondition("a claim needs a positive amount")
        if not fund_source:
            raise FailedPrecondition("a claim must name its fund source (F3)")
        return cls(claim_id, ClaimKind.VOUCHER, voucher_id, payee, institution_id, occupation_code, level,
                   amount_fen, fund_source, now)

    def approve(self, now: datetime) -> None:
        if self.state is not ClaimState.SUBMITTED:
            raise FailedPrecondition(f"claim is {self.state.value}; only a submitted claim can be approved")
        self.state = ClaimState.APPROVED
        self.approved_at = now
        self.record(ClaimApproved(self.claim_id, self.voucher_id, self.payee, CHANNEL_FOR_PAYEE[self.payee.kind],
                                  self.institution_id, self.amount_fen, self.fund_source, now))

    def mark_paid(self, payment_id: str, paid_at: datetime) -> bool:
        """Returns False when nothing changed (already paid)."""
        if self.state is ClaimState.PAID:
            return False
        if self.state not in (ClaimState.APPROVED, ClaimState.PAYMENT_FAILED):
            raise FailedPrecondition(f"claim is {self.state.value}; it cannot be paid")
        self.state = ClaimState.PAID
        self.payment_id = payment_id
        self.paid_at = paid_at
        self.failure_reason = None
        return True

    def mark_payment_failed(self, payment_id: str, reason: str) -> bool:
        if self.state is not ClaimState.APPROVED:
            return False
        self.state = ClaimState.PAYMENT_FAILED
        self.payment_id = payment_id
        self.failure_reason = reason
        return True
