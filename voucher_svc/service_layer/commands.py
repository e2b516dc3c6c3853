"""What can be asked of the voucher service: plain data, each carrying its actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from skillpay.messagebus import Command
from voucher_svc.domain.batch import BatchMode
from voucher_svc.domain.model import CertificateType, VoucherKind


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
    # The occupation and level chosen at enrolment: required for a general voucher; for a
    # targeted one, when given, they must be its own. "" and 0: not given.
    occupation_code: str = ""
    level: int = 0


@dataclass(frozen=True, kw_only=True)
class CreateBatch(Command):
    """V4, V5: an issuance batch; its vouchers come from IssueBatchChunk (LISTED) or ClaimVoucher (QUOTA)."""

    batch_id: str
    fund_source: str
    valid_from: datetime | None
    valid_until: datetime | None
    kind: VoucherKind | None
    occupation_code: str = ""
    level: int = 0
    institution_id: str = ""
    mode: BatchMode | None
    quota: int = 0


@dataclass(frozen=True, kw_only=True)
class IssueBatchChunk(Command):
    """One chunk of a listed batch's persons, issued in one transaction.

    ``persons`` are (resident_id, name) pairs, plain tuples so the request fingerprint covers them;
    ``first_row`` numbers them in the caller's list, so each rejection names the caller's row.
    """

    batch_id: str
    chunk_no: int
    first_row: int
    persons: tuple[tuple[str, str], ...]

    def __repr__(self) -> str:  # never the clear resident IDs, not even in a traceback
        return (f"IssueBatchChunk(batch_id={self.batch_id[:64]!r}, chunk_no={self.chunk_no}, "
                f"persons={len(self.persons)}, actor={self.actor})")


@dataclass(frozen=True, kw_only=True)
class ClaimVoucher(Command):
    """V4: a person claims a voucher of a quota batch through their app (the actor is that person)."""

    batch_id: str
    resident_id: str
    name: str

    def __repr__(self) -> str:
        return f"ClaimVoucher(batch_id={self.batch_id[:64]!r}, actor={self.actor})"


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
