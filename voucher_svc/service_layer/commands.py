"""What can be asked of the voucher service: plain data, each carrying its actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from skillpay.messagebus import Command
from voucher_svc.domain.model import CertificateType


@dataclass(frozen=True, kw_only=True)
class RegisterOccupation(Command):
    code: str
    name: str
    level: int
    subsidy_standard_fen: int
    new_occupation: bool = False


@dataclass(frozen=True, kw_only=True)
class RegisterInstitution(Command):
    name: str
    credit_code: str
    address: str
    occupation_codes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class IssueVoucher(Command):
    resident_id: str
    name: str
    occupation_code: str
    level: int
    fund_source: str
    batch_id: str
    valid_until: datetime | None

    def __repr__(self) -> str:  # never the clear resident ID, not even in a traceback
        return f"IssueVoucher(occupation_code={self.occupation_code!r}, level={self.level}, actor={self.actor})"


@dataclass(frozen=True, kw_only=True)
class EnrolVoucher(Command):
    voucher_id: str
    institution_id: str
    real_person_verified: bool


@dataclass(frozen=True, kw_only=True)
class RecordCertificate(Command):
    resident_id: str
    name: str
    certificate_number: str
    certificate_type: CertificateType | None
    occupation_code: str
    level: int
    issued_on: date | None

    def __repr__(self) -> str:
        return f"RecordCertificate(occupation_code={self.occupation_code!r}, level={self.level}, actor={self.actor})"


@dataclass(frozen=True, kw_only=True)
class RedeemVoucher(Command):
    voucher_id: str
    certificate_id: str


@dataclass(frozen=True, kw_only=True)
class MarkVoucherPaid(Command):
    """From the ledger's payment.settled: the voucher's subsidy reached the holder."""

    voucher_id: str
    payment_id: str
    paid_at: datetime
    # The redemption paid for (the payout's references); None: the voucher's current one.
    redemption_id: str | None = None
    amount_fen: int = 0


@dataclass(frozen=True, kw_only=True)
class MarkVoucherPayoutFailed(Command):
    """From the ledger's payment.failed: the voucher's subsidy could not be paid, and why."""

    voucher_id: str
    reason: str
    redemption_id: str | None = None


# -- the rest of the life cycle (V4, V5, X2) -----------------------------------------------------
DEFAULT_EXPIRY_CHUNK = 200


@dataclass(frozen=True, kw_only=True)
class ExpireDueVouchers(Command):
    """V5: expire every issued or enrolled voucher whose validity ended by ``now`` (None: the
    clock's now), ``limit`` vouchers per transaction. Answers how many expired."""

    now: datetime | None = None
    limit: int = DEFAULT_EXPIRY_CHUNK


@dataclass(frozen=True, kw_only=True)
class CancelVoucher(Command):
    voucher_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RevokeVoucher(Command):
    """X2: fraud."""

    voucher_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RollBackRedemption(Command):
    voucher_id: str
    reason: str
