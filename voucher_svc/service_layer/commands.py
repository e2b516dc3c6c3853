"""What can be asked of the voucher service: plain data, each carrying its actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from skillpay.messagebus import Command
from voucher_svc.domain.model import CertificateType
from voucher_svc.domain.person import HardshipGroup


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
    real_person_verified: bool  # X1: the institution's real-person check of the holder
    presentation_token: str  # V2: the holder's single-use token for this voucher (CreatePresentationToken)


@dataclass(frozen=True, kw_only=True)
class CreatePresentationToken(Command):
    """V2: the holder's app asks for a short-lived token to present one of their vouchers."""

    voucher_id: str


@dataclass(frozen=True, kw_only=True)
class SetHardshipGroups(Command):
    """A6: the hardship groups a person belongs to from a date on (an empty tuple: none)."""

    resident_id: str
    groups: tuple[HardshipGroup | None, ...]  # None: a value that is not a listed group
    effective_from: date | None

    def __repr__(self) -> str:  # never the clear resident ID
        return f"SetHardshipGroups(groups={self.groups!r}, effective_from={self.effective_from}, actor={self.actor})"


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
