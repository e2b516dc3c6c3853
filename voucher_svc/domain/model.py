"""Vouchers, the catalogues they refer to, and certificates (rules V1-V5, A1, P1, X3)."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from skillpay import fields
from skillpay.aggregate import Aggregate, Entity
from skillpay.clock import shanghai_date
from skillpay.errors import (FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied,
                             PreconditionViolation, require)
from voucher_svc.domain.certificate_numbers import number_violations
from skillpay.ids import derived_id

if TYPE_CHECKING:  # valuation.py builds on this module's CertificateType
    from voucher_svc.domain.valuation import Valuation
from voucher_svc.domain.lifecycle import (
    VoucherCancelled,
    VoucherEnrolled,
    VoucherExpired,
    VoucherIssued,
    VoucherPaid,
    VoucherRedemptionRolledBack,
    VoucherRevoked,
    checked_reason,
    redemption_id_for,
)

HIGHEST_LEVEL, LOWEST_LEVEL = 1, 5  # L3: 5 (初级) .. 1 (高级技师)
# The vocational qualification system this catalogue follows: no certificate is older.
EARLIEST_CERTIFICATE = date(1990, 1, 1)
MAX_APPROVED_OCCUPATIONS = 200
MAX_VALIDITY_YEARS = 10  # V5: a batch's vouchers expire; nothing stays valid for decades


def check_level(level: int, violations: list[FieldViolation], field_name: str = "level") -> None:
    if isinstance(level, bool) or not isinstance(level, int) or not HIGHEST_LEVEL <= level <= LOWEST_LEVEL:
        violations.append(FieldViolation(field_name, "must be between 1 (高级技师) and 5 (初级)"))


MAX_FUTURE_START_DAYS = 366 * 5  # A1: a catalogue version is published at most five years ahead


def _occupation_terms(name: str, subsidy_standard_fen: int, min_class_hours: int, region: str,
                      violations: list[FieldViolation]) -> tuple[str, str]:
    """What every version of an occupation carries; returns the cleaned name and region."""
    name = fields.PERSON_NAME.check(name, "name", violations)
    fields.SUBSIDY_FEN.check(subsidy_standard_fen, "subsidy_standard_fen", violations)
    fields.CLASS_HOURS.check(min_class_hours, "min_class_hours", violations)
    region = fields.REGION_CODE.check(region, "region", violations, required=False)
    return name, region


def _check_effective_from(effective_from: date | None, now: datetime, violations: list[FieldViolation]) -> None:
    if effective_from is None:
        violations.append(FieldViolation("effective_from", "is required"))
    elif effective_from < EARLIEST_CERTIFICATE:
        violations.append(FieldViolation("effective_from",
                                         f"must not be before {EARLIEST_CERTIFICATE.isoformat()} (A1)"))
    elif effective_from > shanghai_date(now) + timedelta(days=MAX_FUTURE_START_DAYS):
        violations.append(FieldViolation("effective_from", "must be within five years from today (A1)"))


@dataclass
class Occupation(Entity):
    """A1: one dated version of a catalogue occupation at one level, with its subsidy standard in fen.

    The catalogue entry is (code, level); its versions follow each other without gaps or overlaps.
    ``effective_from`` and ``effective_to`` are Asia/Shanghai dates, both INCLUSIVE: a version is
    in force from the first day through the last; ``effective_to`` is None for the latest version.
    A version is never changed once written, except that the next version sets its end.
    """

    audit_type = "occupation"

    code: str
    name: str
    level: int
    subsidy_standard_fen: int
    new_occupation: bool  # on the MOHRSS new-occupation list (A3)
    created_at: datetime
    min_class_hours: int = 0  # P5 and the class plan compare against it
    practical_oriented: bool = False  # P4: at least 50% offline
    region: str = ""  # administrative division code; "" is national
    effective_from: date = EARLIEST_CERTIFICATE
    effective_to: date | None = None
    version: int = 1

    @classmethod
    def register(cls, code: str, name: str, level: int, subsidy_standard_fen: int, new_occupation: bool,
                 now: datetime, *, min_class_hours: int = 0, practical_oriented: bool = False, region: str = "",
                 effective_from: date | None = None) -> Occupation:
        """The first version of a catalogue entry; it starts today (Asia/Shanghai) unless told otherwise."""
        violations: list[FieldViolation] = []
        code = fields.OCCUPATION_CODE.check(code, "code", violations)
        name, region = _occupation_terms(name, subsidy_standard_fen, min_class_hours, region, violations)
        check_level(level, violations)
        effective_from = shanghai_date(now) if effective_from is None else effective_from
        _check_effective_from(effective_from, now, violations)
        require(violations)
        return cls(code, name, level, subsidy_standard_fen, bool(new_occupation), now, min_class_hours,
                   bool(practical_oriented), region, effective_from, None, 1)

    @staticmethod
    def revision_violations(name: str, subsidy_standard_fen: int, min_class_hours: int, region: str,
                            effective_from: date | None, now: datetime) -> list[FieldViolation]:
        """What a revision needs of the request, all of it checked at once."""
        violations: list[FieldViolation] = []
        _occupation_terms(name, subsidy_standard_fen, min_class_hours, region, violations)
        _check_effective_from(effective_from, now, violations)
        return violations

    def revise(self, name: str, subsidy_standard_fen: int, new_occupation: bool, min_class_hours: int,
               practical_oriented: bool, region: str, effective_from: date | None, now: datetime) -> Occupation:
        """A1: the next version, from ``effective_from``; this one (the latest) ends the day before.

        The new version starts strictly after this one did, so versions never overlap and, since
        this one ends exactly the day before, never leave a gap.
        """
        if self.effective_to is not None:
            raise ValueError("only the latest version of an occupation can be revised")
        violations: list[FieldViolation] = []
        name, region = _occupation_terms(name, subsidy_standard_fen, min_class_hours, region, violations)
        _check_effective_from(effective_from, now, violations)
        require(violations)
        assert effective_from is not None
        if effective_from <= self.effective_from:
            raise FailedPrecondition(violations=[PreconditionViolation(
                "A1", "occupation",
                f"新版本须晚于现行第{self.version}版的生效日 {self.effective_from.isoformat()} / a new version must "
                f"start after {self.effective_from.isoformat()}, when version {self.version} started")])
        self.effective_to = effective_from - timedelta(days=1)
        return Occupation(self.code, name, self.level, subsidy_standard_fen, bool(new_occupation), now,
                          min_class_hours, bool(practical_oriented), region, effective_from, None, self.version + 1)

    def in_force_on(self, day: date) -> bool:
        """A1: effective_from <= day <= effective_to (both inclusive; no end for the latest)."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def audit_id(self) -> str:
        return f"{self.code}|{self.level}"  # every version in the trail of its catalogue entry

    def audit_state(self) -> str:
        return f"v{self.version} {self.effective_from.isoformat()}..{self.effective_to or ''}"


def version_in_force(versions: Iterable[Occupation], day: date) -> Occupation | None:
    """A1: the one version of an entry in force on ``day``, if any."""
    return next((v for v in versions if v.in_force_on(day)), None)


class InstitutionStatus(enum.Enum):
    """P1, X3: only an active institution takes new enrolments and redeems vouchers; removed is final."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REMOVED = "removed"


class InstitutionNature(enum.Enum):
    """P1: the nature (性质) the catalogue publishes."""

    PUBLIC = "public"  # 公办
    PRIVATE = "private"  # 民办
    ENTERPRISE = "enterprise"  # 企业 (in-house training of an enterprise)
    OTHER = "other"  # 其他


@dataclass(frozen=True)
class BankAccount:
    """Where bank-transfer payouts to an institution go."""

    account_number: str
    account_name: str
    bank_code: str  # CNAPS 联行号

    @classmethod
    def checked(cls, account_number: str, account_name: str, bank_code: str, violations: list[FieldViolation],
                prefix: str = "bank_account.") -> BankAccount | None:
        before = len(violations)
        number = fields.BANK_ACCOUNT_NUMBER.check(account_number, f"{prefix}account_number", violations)
        name = fields.BANK_ACCOUNT_NAME.check(account_name, f"{prefix}account_name", violations)
        code = fields.BANK_CODE.check(bank_code, f"{prefix}bank_code", violations)
        return None if len(violations) > before else cls(number, name, code)

    def digest(self) -> str:
        """Short and stable: lets the audit trail show that the account changed, not what it is."""
        return hashlib.sha256(f"{self.account_number}|{self.account_name}|{self.bank_code}".encode()).hexdigest()[:8]


@dataclass(frozen=True)
class InstitutionStatusChanged:
    """X3: claim_svc stops new claims of an institution that is no longer active."""

    institution_id: str
    status: InstitutionStatus
    previous_status: InstitutionStatus
    reason: str
    changed_at: datetime


def _x3(institution: Institution, what: str) -> FailedPrecondition:
    states = {InstitutionStatus.SUSPENDED: ("已暂停", "suspended"),
              InstitutionStatus.REMOVED: ("已移出目录", "removed")}
    zh, en = states.get(institution.status, ("不在目录中", "not active"))
    return FailedPrecondition(violations=[PreconditionViolation(
        "X3", "institution", f"培训机构{zh}，{what[0]} / the institution is {en}: {what[1]}")])


@dataclass
class Institution(Aggregate):
    """P1: a training institution in the published catalogue, approved for some occupations.

    X3: its status is active, suspended (no new enrolments or redemptions until reinstated) or
    removed (final). Each change is recorded with its reason and time and announced.
    """

    audit_type = "institution"

    institution_id: str
    name: str
    credit_code: str
    address: str
    occupation_codes: list[str]
    status: InstitutionStatus
    created_at: datetime
    nature: InstitutionNature = InstitutionNature.OTHER
    region: str = ""
    bank_account: BankAccount | None = None
    status_reason: str = ""
    status_changed_at: datetime | None = None
    version: int = field(default=0, compare=False)

    @classmethod
    def register(cls, institution_id: str, name: str, credit_code: str, address: str,
                 occupation_codes: list[str], now: datetime, *, nature: InstitutionNature | None = None,
                 region: str = "", bank_account: tuple[str, str, str] | None = None) -> Institution:
        """``bank_account`` is optional (number, name, bank code); given, it must be valid."""
        violations: list[FieldViolation] = []
        name = fields.ORGANISATION_NAME.check(name, "name", violations)
        address = fields.ADDRESS.check(address, "address", violations, required=False)
        credit_code = fields.UNIFIED_CREDIT_CODE.check(credit_code, "credit_code", violations)
        if credit_code:
            try:
                credit_code = uscc.validate(credit_code)
            except ValidationError as exc:
                violations.append(FieldViolation("credit_code",
                                                 f"not a valid unified social credit code ({exc.message})"))
        if not occupation_codes:
            violations.append(FieldViolation("occupation_codes", "list at least one approved occupation"))
        elif len(occupation_codes) > MAX_APPROVED_OCCUPATIONS:
            violations.append(FieldViolation("occupation_codes", f"list at most {MAX_APPROVED_OCCUPATIONS}"))
        else:
            codes = [fields.OCCUPATION_CODE.check(c, f"occupation_codes[{i}]", violations)
                     for i, c in enumerate(occupation_codes)]
            occupation_codes = sorted(set(codes))
        region = fields.REGION_CODE.check(region, "region", violations, required=False)
        account = BankAccount.checked(*bank_account, violations) if bank_account is not None else None
        require(violations)
        return cls(institution_id, name, credit_code, address, occupation_codes, InstitutionStatus.ACTIVE, now,
                   nature or InstitutionNature.OTHER, region, account)

    def audit_id(self) -> str:
        return self.institution_id

    def audit_state(self) -> str:
        # A new bank account is a change worth a record although the status stays (at most 32 characters).
        account = f" acct:{self.bank_account.digest()}" if self.bank_account else ""
        return f"{self.status.value}{account}"

    def can_train(self, occupation_code: str) -> bool:
        """P1 and X3: only active catalogue institutions approved for the occupation."""
        return self.status is InstitutionStatus.ACTIVE and occupation_code in self.occupation_codes

    def require_active(self, enrolling: bool) -> None:
        """X3: a suspended or removed institution takes no new enrolment and redeems no voucher."""
        if self.status is not InstitutionStatus.ACTIVE:
            raise _x3(self, ("不得接收新学员", "it accepts no new enrolments") if enrolling
                      else ("其培训券不得兑付", "its vouchers cannot be redeemed"))

    @staticmethod
    def checked_reason(reason: str) -> str:
        violations: list[FieldViolation] = []
        reason = fields.STATUS_REASON.check(reason, "reason", violations)
        require(violations)
        return reason

    def _change_status(self, status: InstitutionStatus, reason: str, now: datetime) -> None:
        previous, self.status = self.status, status
        self.status_reason, self.status_changed_at = reason, now
        self.record(InstitutionStatusChanged(self.institution_id, status, previous, reason, now))

    def _refuse_if_removed(self) -> None:
        if self.status is InstitutionStatus.REMOVED:
            raise FailedPrecondition(violations=[PreconditionViolation(
                "X3", "institution", "培训机构已移出目录，不可恢复或变更 / the institution was removed from the "
                                     "catalogue; that is final")])

    def suspend(self, reason: str, now: datetime) -> None:
        """X3: no new enrolments or redemptions until reinstated."""
        reason = self.checked_reason(reason)
        self._refuse_if_removed()
        if self.status is InstitutionStatus.SUSPENDED:
            raise FailedPrecondition("the institution is suspended already")
        self._change_status(InstitutionStatus.SUSPENDED, reason, now)

    def reinstate(self, now: datetime) -> None:
        self._refuse_if_removed()
        if self.status is not InstitutionStatus.SUSPENDED:
            raise FailedPrecondition("only a suspended institution can be reinstated")
        self._change_status(InstitutionStatus.ACTIVE, "", now)

    def remove(self, reason: str, now: datetime) -> None:
        """X3: removed from the catalogue for good (an active or suspended institution)."""
        reason = self.checked_reason(reason)
        self._refuse_if_removed()
        self._change_status(InstitutionStatus.REMOVED, reason, now)

    def update_bank_account(self, account_number: str, account_name: str, bank_code: str) -> bool:
        """The account bank-transfer payouts go to. False when it is the same as before."""
        violations: list[FieldViolation] = []
        account = BankAccount.checked(account_number, account_name, bank_code, violations)
        require(violations)
        self._refuse_if_removed()
        if account == self.bank_account:
            return False
        self.bank_account = account
        return True


@dataclass(frozen=True)
class PersonIdentity:
    """A natural person (V1). The ID number itself is only ever held sealed."""

    name: str
    id_lookup: str
    id_sealed: bytes
    id_masked: str


class CertificateType(enum.Enum):
    VOCATIONAL_QUALIFICATION = "vocational_qualification"
    SKILL_LEVEL = "skill_level"
    SPECIAL_ABILITY = "special_ability"
    TRAINING_QUALIFIED = "training_qualified"


BUREAU_ISSUER = "bureau"  # V3: a certificate the bureau (an ADMIN actor) recorded


@dataclass
class Certificate(Entity):
    audit_type = "certificate"

    certificate_id: str
    certificate_number: str
    certificate_type: CertificateType
    holder: PersonIdentity
    occupation_code: str
    level: int
    issued_on: date
    recorded_at: datetime
    redeemed_voucher_id: str | None = None
    # V3: who recorded it, an evaluation body's id or "bureau"; never the holder or an institution.
    issuer: str = BUREAU_ISSUER

    @classmethod
    def record(cls, certificate_id: str, certificate_number: str, certificate_type: CertificateType | None,
               holder: PersonIdentity, occupation_code: str, level: int, issued_on: date | None,
               now: datetime, issuer: str = BUREAU_ISSUER) -> "Certificate":
        require(cls.field_violations(certificate_number, certificate_type, occupation_code, level, issued_on, now))
        certificate_number, occupation_code = certificate_number.strip(), occupation_code.strip()
        return cls(certificate_id, certificate_number, certificate_type, holder, occupation_code, level, issued_on, now,
                   issuer=issuer)

    @staticmethod
    def field_violations(certificate_number: str, certificate_type: CertificateType | None, occupation_code: str,
                         level: int, issued_on: date | None, now: datetime) -> list[FieldViolation]:
        """What recording needs of the request, all of it checked at once."""
        violations: list[FieldViolation] = []
        number = fields.CERTIFICATE_NUMBER.check(certificate_number, "certificate_number", violations)
        fields.OCCUPATION_CODE.check(occupation_code, "occupation_code", violations)
        if certificate_type is None:
            violations.append(FieldViolation("certificate_type", "is required"))
        elif number:
            # V3: the number follows its type's defined format (see certificate_numbers).
            violations += number_violations(certificate_type.value, number, level, issued_on)
        check_level(level, violations)
        if issued_on is None:
            violations.append(FieldViolation("issued_on", "is required"))
        elif issued_on > shanghai_date(now):
            violations.append(FieldViolation("issued_on", "must not be in the future"))
        elif issued_on < EARLIEST_CERTIFICATE:
            violations.append(FieldViolation("issued_on", f"must not be before {EARLIEST_CERTIFICATE.isoformat()}"))
        return violations

    def audit_id(self) -> str:
        return self.certificate_id

    def audit_state(self) -> str:
        return "redeemed" if self.redeemed_voucher_id else "recorded"

    def release(self, voucher_id: str) -> None:
        """A rolled-back redemption frees the certificate (V3: it may redeem a voucher again)."""
        if self.redeemed_voucher_id != voucher_id:
            raise ValueError("only the voucher the certificate redeemed can release it")
        self.redeemed_voucher_id = None


class VoucherState(enum.Enum):
    """V4: issued -> enrolled -> redeemed -> paid; also expired, cancelled, revoked."""

    ISSUED = "issued"
    ENROLLED = "enrolled"
    REDEEMED = "redeemed"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REVOKED = "revoked"


# V4: nothing leaves these states (a paid voucher only to REVOKED, X2).
TERMINAL_STATES = frozenset({VoucherState.EXPIRED, VoucherState.CANCELLED, VoucherState.REVOKED})
UNUSED_STATES = frozenset({VoucherState.ISSUED, VoucherState.ENROLLED})  # V5: these expire


class PayoutStatus(enum.Enum):
    """Where the money of a redeemed voucher is. Not a voucher state (V4 has none for it): a failed
    payout leaves the voucher redeemed, its value fixed, until a payout requested again settles."""

    NONE = "none"  # not redeemed: nothing to pay yet
    PENDING = "pending"
    FAILED = "failed"
    PAID = "paid"


MAX_FAILURE_REASON_CHARS = 200


class VoucherKind(enum.Enum):
    """GENERAL: the holder chooses occupation and institution at enrolment. TARGETED: bound to an
    occupation and level (and, from a targeted batch, to one institution) when issued."""

    GENERAL = "general"
    TARGETED = "targeted"


@dataclass(frozen=True)
class VoucherRedeemed:
    voucher_id: str
    holder: PersonIdentity
    institution_id: str
    occupation_code: str
    level: int
    certificate_id: str
    certificate_type: CertificateType
    value_fen: int
    fund_source: str
    redeemed_at: datetime
    # A2-A4: how the value came about (the claim line shows it).
    rate_percent: int = 0
    valuation_rule: str = ""
    standard_fen: int = 0
    employment_window_end: date | None = None

    # The claim line's cause (see voucher_svc.domain.lifecycle); the voucher id for the first redemption.
    redemption_id: str = ""
    redemption_no: int = 1


@dataclass(frozen=True)
class VoucherToppedUp:
    """A5: employment inside the window lifted an 80%/50% value to the full one; pay the difference once."""

    top_up_id: str
    voucher_id: str
    holder: PersonIdentity
    institution_id: str
    occupation_code: str
    level: int
    certificate_id: str
    value_fen: int  # what the redemption was worth (already claimed)
    top_up_fen: int  # the difference, claimed now
    standard_fen: int
    fund_source: str
    employment_start: date
    topped_up_at: datetime


def top_up_id_for(voucher_id: str, certificate_id: str, redemption_no: int = 1) -> str:
    """A5: one top-up per redemption; its id (and so its claim line's and payout's) derives from it.
    A redemption after a rollback is another redemption (even with the same certificate)."""
    if redemption_no <= 1:
        return derived_id("tup", voucher_id, certificate_id)
    return derived_id("tup", voucher_id, certificate_id, redemption_no)


# A5 tops up only values A3 or A4 fixed (a voucher valued before A2-A4 existed has rule "").
TOPPED_UP_RULES = frozenset({"A3", "A4"})


@dataclass
class Voucher(Aggregate):
    audit_type = "voucher"

    voucher_id: str
    holder: PersonIdentity
    occupation_code: str | None  # None: a general voucher before enrolment
    level: int | None
    fund_source: str
    batch_id: str
    issued_at: datetime
    valid_until: datetime
    state: VoucherState = VoucherState.ISSUED
    institution_id: str | None = None
    real_person_verified: bool = False
    certificate_id: str | None = None
    value_fen: int = 0
    enrolled_at: datetime | None = None
    redeemed_at: datetime | None = None
    paid_at: datetime | None = None
    payment_id: str | None = None
    payout_failure_reason: str = ""  # why the last payout failed; cleared once one settles
    kind: VoucherKind = VoucherKind.TARGETED
    bound_institution_id: str | None = None  # a targeted batch's institution: the only one that enrols it
    valid_from: datetime | None = None  # V5: the batch's validity starts here (None: when issued)
    # A2-A4, fixed at redemption: the rate and rule applied to the standard, and A2's window.
    rate_percent: int = 0
    valuation_rule: str = ""  # "A2", "A3", "A4"; "" for a voucher redeemed before valuation existed
    standard_fen: int = 0
    employment_window_start: date | None = None  # None: no lower bound
    employment_window_end: date | None = None
    # A5: the difference to the full value, once, when employment inside the window is recorded later.
    topped_up_fen: int = 0
    topped_up_at: datetime | None = None
    # Redemptions so far, rolled-back ones included; the current (or last) one's number.
    redemption_no: int = 0
    state_reason: str = ""  # the bureau's reason for a cancellation, revocation or the last rollback
    ended_at: datetime | None = None  # when it expired, was cancelled or revoked
    # X2: money that went out for this voucher and must be recovered (the ledger's recovery
    # entries come with a later issue): the paid value of a revoked voucher, or a payout of a
    # rolled-back redemption that settled after all. The payment ids make each count once.
    recovery_due_fen: int = 0
    recovery_payment_ids: tuple[str, ...] = ()
    version: int = field(default=0, compare=False)

    @classmethod
    def issue(cls, voucher_id: str, holder: PersonIdentity, occupation: Occupation, fund_source: str,
              batch_id: str, valid_until: datetime, now: datetime) -> "Voucher":
        """V1, V4, V5: a real-name voucher for one catalogue occupation, paid from a named fund."""
        violations = cls.field_violations(fund_source, batch_id, valid_until, now)
        require(violations)
        voucher = cls(voucher_id, holder, occupation.code, occupation.level, fund_source.strip(), batch_id.strip(),
                      now, valid_until)
        voucher.announce_issue()
        return voucher

    def announce_issue(self) -> None:
        """V4: every transition is an event; issue is the first (a listed batch's chunk announces
        its vouchers together instead, see Batch.issue_chunk)."""
        self.record(VoucherIssued(self.voucher_id, self.holder, self.kind.value, self.occupation_code or "",
                                  self.level or 0, self.fund_source, self.batch_id, self.valid_until, self.issued_at))

    @staticmethod
    def field_violations(fund_source: str, batch_id: str, valid_until: datetime | None,
                         now: datetime) -> list[FieldViolation]:
        """V4, V5: what issuing needs of the request, all of it checked at once."""
        violations: list[FieldViolation] = []
        if not fund_source.strip():
            violations.append(FieldViolation("fund_source", "every voucher records its fund source (V4)"))
        else:
            fields.FUND_CODE.check(fund_source, "fund_source", violations)
        fields.BATCH_ID.check(batch_id, "batch_id", violations)
        if valid_until is None:
            violations.append(FieldViolation("valid_until", "is required (V5)"))
        elif valid_until <= now:
            violations.append(FieldViolation("valid_until", "must be in the future (V5)"))
        elif valid_until - now > timedelta(days=366 * MAX_VALIDITY_YEARS):
            violations.append(FieldViolation("valid_until", f"must be within {MAX_VALIDITY_YEARS} years (V5)"))
        return violations

    def audit_id(self) -> str:
        return self.voucher_id

    def audit_state(self) -> str:
        # A failed payout, a top-up and a recovery that becomes due (X2) are changes worth an audit
        # record although the V4 state stays.
        base = "payout_failed" if self.payout_status is PayoutStatus.FAILED else self.state.value
        if self.topped_up_fen:
            base += "+top_up"
        if not self.recovery_due_fen:
            return base
        late = len(self.recovery_payment_ids)
        return f"{base}:recovery_due" + (f"_{late}" if late > 1 else "")

    @property
    def redemption_id(self) -> str:
        """The current (or last, if rolled back) redemption's id; "" before the first."""
        return redemption_id_for(self.voucher_id, self.redemption_no) if self.redemption_no else ""

    def _had_redemption(self, redemption_id: str) -> bool:
        return any(redemption_id_for(self.voucher_id, n) == redemption_id for n in range(1, self.redemption_no + 1))

    @property
    def payout_status(self) -> PayoutStatus:
        if self.state is VoucherState.PAID:
            return PayoutStatus.PAID
        if self.state is not VoucherState.REDEEMED:
            return PayoutStatus.NONE
        return PayoutStatus.FAILED if self.payout_failure_reason else PayoutStatus.PENDING

    def _refuse_if_expired(self, now: datetime) -> None:
        # No state change: the failing call's transaction is rolled back, so EXPIRED set here would be lost.
        if self.state in (VoucherState.ISSUED, VoucherState.ENROLLED) and now >= self.valid_until:
            raise FailedPrecondition(f"voucher expired at {self.valid_until.isoformat()} (V5)")

    def enrol(self, institution: Institution, real_person_verified: bool, now: datetime,
              chosen: Occupation | None = None) -> None:
        """V2 and X1: the holder enrols in person with a catalogue institution approved for the occupation.

        ``chosen`` is the occupation and level picked at enrolment: required for a general voucher
        (it has none until now), and for a targeted one it must be the voucher's own.
        """
        self._refuse_if_expired(now)
        if self.valid_from is not None and now < self.valid_from:
            raise FailedPrecondition(f"voucher is valid only from {self.valid_from.isoformat()} (V5)")
        if self.state is VoucherState.ENROLLED and self.institution_id == institution.institution_id and (
                chosen is None or (chosen.code, chosen.level) == (self.occupation_code, self.level)):
            return
        if self.state is not VoucherState.ISSUED:
            raise FailedPrecondition(f"voucher is {self.state.value}; only an issued voucher can be enrolled")
        if self.bound_institution_id is not None and self.bound_institution_id != institution.institution_id:
            raise FailedPrecondition("this targeted voucher is bound to another institution (V4)")
        if self.kind is VoucherKind.GENERAL:
            if chosen is None:
                raise InvalidArgument([FieldViolation("occupation_code", "a general voucher is enrolled for an "
                                                                         "occupation and level chosen now")])
            occupation_code, level = chosen.code, chosen.level
        else:
            if chosen is not None and (chosen.code, chosen.level) != (self.occupation_code, self.level):
                raise FailedPrecondition("this targeted voucher is bound to another occupation or level (V4)")
            occupation_code, level = self.occupation_code, self.level
        institution.require_active(enrolling=True)  # X3
        if not institution.can_train(occupation_code):
            raise FailedPrecondition(violations=[PreconditionViolation(
                "P1", "institution", "培训机构未获准培训该职业 / the institution is not approved for this occupation")])
        if not real_person_verified:
            raise FailedPrecondition("the holder's real-person check has not passed (V2, X1)")
        self.state = VoucherState.ENROLLED
        self.occupation_code, self.level = occupation_code, level
        self.institution_id = institution.institution_id
        self.real_person_verified = True
        self.enrolled_at = now
        self.record(VoucherEnrolled(self.voucher_id, institution.institution_id, occupation_code, level, now))

    def redeem(self, certificate: Certificate, occupation: Occupation, now: datetime,
               valuation: Valuation | None = None) -> None:
        """V2, V3: a certificate of the same person and occupation redeems the voucher once.

        The value is fixed now, at redemption (A2-A4: ``valuation``, computed by the valuation
        policy with the employment known now; without one, the default policy with no employment).
        """
        self._refuse_if_expired(now)
        if self.state is not VoucherState.ENROLLED:
            raise FailedPrecondition(f"voucher is {self.state.value}; only an enrolled voucher can be redeemed")
        if certificate.holder.id_lookup != self.holder.id_lookup:
            raise PermissionDenied("the certificate belongs to another person; vouchers are not transferable (V2)")
        if (certificate.occupation_code, certificate.level) != (self.occupation_code, self.level):
            raise FailedPrecondition("the certificate is for another occupation or level than the voucher (V3)")
        if certificate.redeemed_voucher_id is not None:
            raise FailedPrecondition("the certificate has already redeemed a voucher (V3)")
        if (occupation.code, occupation.level) != (self.occupation_code, self.level):
            raise ValueError("redeem needs the catalogue entry of the voucher's own occupation")
        if valuation is None:
            # Imported here: valuation.py imports this module.
            from voucher_svc.domain.valuation import DEFAULT_VALUATION

            valuation = DEFAULT_VALUATION.value(occupation.subsidy_standard_fen, occupation.new_occupation,
                                                certificate.certificate_type, certificate.issued_on, ())
        self.state = VoucherState.REDEEMED
        self.certificate_id = certificate.certificate_id
        self.value_fen = valuation.value_fen
        self.rate_percent = valuation.rate_percent
        self.valuation_rule = valuation.rule.value
        self.standard_fen = valuation.standard_fen
        self.employment_window_start = valuation.window_start
        self.employment_window_end = valuation.window_end
        self.redeemed_at = now
        self.redemption_no += 1  # after a rollback: a new redemption, hence a new claim line
        self.payout_failure_reason = ""
        certificate.redeemed_voucher_id = self.voucher_id
        self.record(VoucherRedeemed(
            self.voucher_id, self.holder, self.institution_id or "", self.occupation_code, self.level,
            certificate.certificate_id, certificate.certificate_type, self.value_fen, self.fund_source, now,
            self.rate_percent, self.valuation_rule, self.standard_fen, self.employment_window_end,
            self.redemption_id, self.redemption_no,
        ))

    def employment_in_window(self, start: date) -> bool:
        """A2/A5: whether employment starting then falls in the window fixed at redemption."""
        if self.employment_window_end is None or start > self.employment_window_end:
            return False
        return self.employment_window_start is None or start >= self.employment_window_start

    def top_up(self, employment_start: date, full_value_fen: int, now: datetime) -> bool:
        """A5: employment recorded later, starting inside the window, lifts an A3/A4 value to
        ``full_value_fen`` (A2's value of the standard used). Exactly once: a voucher already
        topped up, not redeemed or paid, valued by A2, or employment outside the window changes
        nothing (False). Never a second full payment: only the difference is claimed."""
        if self.state not in (VoucherState.REDEEMED, VoucherState.PAID) or self.topped_up_fen:
            return False
        if self.valuation_rule not in TOPPED_UP_RULES or not self.employment_in_window(employment_start):
            return False
        difference = full_value_fen - self.value_fen
        if difference <= 0:
            return False
        self.topped_up_fen = difference
        self.topped_up_at = now
        self.record(VoucherToppedUp(
            top_up_id_for(self.voucher_id, self.certificate_id or "", self.redemption_no), self.voucher_id, self.holder,
            self.institution_id or "", self.occupation_code, self.level, self.certificate_id or "", self.value_fen,
            difference, self.standard_fen, self.fund_source, employment_start, now))
        return True

    def mark_paid(self, payment_id: str, paid_at: datetime, redemption_id: str | None = None,
                  amount_fen: int = 0) -> bool:
        """V4: the subsidy of a redemption landed. Returns False when nothing changed (already known).

        ``redemption_id`` names the redemption the payment was for (None: the current one). When
        that redemption was rolled back, or the voucher revoked before payment, the money went
        out all the same: the voucher keeps its state and records a recovery due (X2) instead.
        """
        redemption_id = self.redemption_id if redemption_id is None else redemption_id
        if not redemption_id or not self._had_redemption(redemption_id):
            raise FailedPrecondition(f"voucher is {self.state.value}; the payment is for no redemption of it "
                                     "(only a redeemed voucher can be paid)")
        if payment_id == self.payment_id or payment_id in self.recovery_payment_ids:
            return False
        if redemption_id == self.redemption_id and self.state is VoucherState.PAID:
            return False
        if redemption_id == self.redemption_id and self.state is VoucherState.REDEEMED:
            self.state = VoucherState.PAID
            self.payment_id = payment_id
            self.paid_at = paid_at
            self.payout_failure_reason = ""
            self.record(VoucherPaid(self.voucher_id, payment_id, redemption_id, self.value_fen, paid_at))
            return True
        # X2: paid for a redemption that no longer stands; recovered by the ledger (a later issue).
        self.recovery_due_fen += max(amount_fen, 0)
        self.recovery_payment_ids = (*self.recovery_payment_ids, payment_id)
        return True

    def payout_returned(self, payment_id: str, reason: str, redemption_id: str | None = None) -> bool:
        """V4: the payment that paid this voucher came back from the bank (the ledger's
        payment.returned): the voucher is redeemed, not paid, again, showing the reason, until a
        payout requested again settles. Its ``payment_id`` stays, so a late copy of that payment's
        settlement changes nothing. False when nothing changed (another payment, or not paid)."""
        if self.state is not VoucherState.PAID or payment_id != self.payment_id:
            return False
        if redemption_id is not None and redemption_id != self.redemption_id:
            return False
        plain = "".join(" " if fields.hidden_characters(ch) else ch for ch in reason)
        self.state = VoucherState.REDEEMED
        self.paid_at = None
        self.payout_failure_reason = " ".join(plain.split())[:MAX_FAILURE_REASON_CHARS] or "payout returned"
        return True

    def payout_failed(self, reason: str, redemption_id: str | None = None) -> bool:
        """A payout of this voucher failed (the ledger's payment.failed): shown with its reason.

        Only a redeemed voucher has a payout to fail; a report that comes after the voucher was
        paid (an older attempt's, read late), or for a rolled-back redemption, changes nothing.
        False when nothing changed.
        """
        if self.state is not VoucherState.REDEEMED:
            return False
        if redemption_id is not None and redemption_id != self.redemption_id:
            return False
        # Another service's text: one plain, bounded line (no control or reordering characters).
        plain = "".join(" " if fields.hidden_characters(ch) else ch for ch in reason)
        reason = " ".join(plain.split())[:MAX_FAILURE_REASON_CHARS] or "payout failed"
        if reason == self.payout_failure_reason:
            return False
        self.payout_failure_reason = reason
        return True

    # -- the rest of the life cycle (V4, V5, X2; see voucher_svc.domain.lifecycle) ---------------
    def expire(self, now: datetime) -> bool:
        """V5: an unused voucher past its validity window expires. False when it does not (yet)."""
        if self.state not in UNUSED_STATES or now < self.valid_until:
            return False
        self.state = VoucherState.EXPIRED
        self.ended_at = now
        self.record(VoucherExpired(self.voucher_id, self.valid_until, now))
        return True

    def cancel(self, reason: str, now: datetime) -> None:
        """V4: the bureau withdraws an unused voucher, giving its reason."""
        reason = checked_reason(reason)
        if self.state not in UNUSED_STATES:
            raise FailedPrecondition(f"voucher is {self.state.value}; only an issued or enrolled voucher can be "
                                     "cancelled (V4)")
        self.state = VoucherState.CANCELLED
        self.state_reason = reason
        self.ended_at = now
        self.record(VoucherCancelled(self.voucher_id, reason, now))

    def roll_back_redemption(self, certificate: Certificate | None, reason: str, now: datetime) -> None:
        """The bureau undoes a redemption before payment: enrolled again, value 0, certificate free,
        and the redemption's claim line withdrawn (by the event). After payment, only a recovery."""
        reason = checked_reason(reason)
        if self.state is VoucherState.PAID:
            raise FailedPrecondition("voucher is paid; only a recovery is possible after payment (X2)",
                                     [PreconditionViolation("X2", "voucher",
                                                            "only a recovery is possible after payment")])
        if self.state is not VoucherState.REDEEMED:
            raise FailedPrecondition(f"voucher is {self.state.value}; only a redeemed voucher's redemption can be "
                                     "rolled back (V4)")
        if certificate is None or certificate.certificate_id != self.certificate_id:
            raise ValueError("roll_back_redemption needs the certificate that redeemed the voucher")
        event = VoucherRedemptionRolledBack(self.voucher_id, self.redemption_id, self.redemption_no,
                                            certificate.certificate_id, self.value_fen, reason, now)
        certificate.release(self.voucher_id)
        self.state = VoucherState.ENROLLED
        self.certificate_id = None
        self.value_fen = 0
        self.redeemed_at = None
        self.payout_failure_reason = ""
        # The valuation (A2-A4) and any A5 top-up went with the redemption; a new one values afresh.
        self.rate_percent, self.valuation_rule, self.standard_fen = 0, "", 0
        self.employment_window_start = self.employment_window_end = None
        self.topped_up_fen, self.topped_up_at = 0, None
        self.state_reason = reason
        self.record(event)

    def revoke(self, reason: str, now: datetime) -> None:
        """X2: fraud. From any state that is not terminal; the certificate stays used. An unpaid
        redemption's claim line is withdrawn; a paid one leaves its value due for recovery."""
        reason = checked_reason(reason)
        if self.state in TERMINAL_STATES:
            raise FailedPrecondition(f"voucher is {self.state.value}; it can no longer be revoked (V4)")
        previous = self.state
        withdrawn = self.redemption_id if previous is VoucherState.REDEEMED else ""
        if previous is VoucherState.PAID:
            # X2: recovery = reversal entries in the ledger; they come with a later issue.
            self.recovery_due_fen += self.value_fen
        self.state = VoucherState.REVOKED
        self.state_reason = reason
        self.ended_at = now
        self.record(VoucherRevoked(self.voucher_id, reason, previous.value, withdrawn,
                                   self.value_fen if previous is VoucherState.PAID else 0, now))
