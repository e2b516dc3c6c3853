"""What can be asked of the voucher service: plain data, each carrying its actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from skillpay.messagebus import Command
from voucher_svc.domain.employment import EmploymentSource
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


@dataclass(frozen=True, kw_only=True)
class MarkVoucherPayoutFailed(Command):
    """From the ledger's payment.failed: the voucher's subsidy could not be paid, and why."""

    voucher_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RecordEmployment(Command):
    """Employment evidence of a person (A2; A5 tops up what was redeemed before it was known)."""

    resident_id: str
    name: str
    employer_credit_code: str
    employer_name: str
    start_date: date | None
    source: EmploymentSource | None

    def __repr__(self) -> str:
        return f"RecordEmployment(source={self.source}, actor={self.actor})"
