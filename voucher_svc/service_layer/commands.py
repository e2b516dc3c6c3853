"""What can be asked of the voucher service: plain data, each carrying its actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from skillpay.messagebus import Command
from voucher_svc.domain.batch import BatchMode
from voucher_svc.domain.employment import EmploymentSource
from voucher_svc.domain.model import CertificateType, InstitutionNature, VoucherKind
from voucher_svc.domain.person import HardshipGroup


@dataclass(frozen=True, kw_only=True)
class RegisterOccupation(Command):
    code: str
    name: str
    level: int
    subsidy_standard_fen: int
    new_occupation: bool = False
    min_class_hours: int = 0
    practical_oriented: bool = False
    region: str = ""
    effective_from: date | None = None  # None: today (Asia/Shanghai)


@dataclass(frozen=True, kw_only=True)
class ReviseOccupation(Command):
    """A1: a new version of a catalogue entry from ``effective_from``, with all of its terms."""

    code: str
    level: int
    name: str
    subsidy_standard_fen: int
    new_occupation: bool = False
    min_class_hours: int = 0
    practical_oriented: bool = False
    region: str = ""
    effective_from: date | None


@dataclass(frozen=True, kw_only=True)
class RegisterInstitution(Command):
    name: str
    credit_code: str
    address: str
    occupation_codes: tuple[str, ...]
    nature: InstitutionNature | None = None  # None: other
    region: str = ""
    bank_account: tuple[str, str, str] | None = None  # (account number, account name, bank code)


@dataclass(frozen=True, kw_only=True)
class SuspendInstitution(Command):
    """X3: no new enrolments or redemptions at the institution until it is reinstated."""

    institution_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReinstateInstitution(Command):
    institution_id: str


@dataclass(frozen=True, kw_only=True)
class RemoveInstitution(Command):
    """X3: the institution leaves the catalogue for good."""

    institution_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class UpdateInstitutionBankAccount(Command):
    institution_id: str
    account_number: str
    account_name: str
    bank_code: str


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
    # The redemption paid for (the payout's references); None: the voucher's current one.
    redemption_id: str | None = None
    amount_fen: int = 0


@dataclass(frozen=True, kw_only=True)
class MarkVoucherPayoutFailed(Command):
    """From the ledger's payment.failed: the voucher's subsidy could not be paid, and why."""

    voucher_id: str
    reason: str
    redemption_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class MarkVoucherPayoutReturned(Command):
    """From the ledger's payment.returned: the payment that paid the voucher came back, and why."""

    voucher_id: str
    payment_id: str
    reason: str
    redemption_id: str | None = None


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
