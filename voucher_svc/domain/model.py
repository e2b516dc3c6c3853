"""Vouchers, the catalogues they refer to, and certificates (rules V1-V5, A1, P1, X3)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from skillpay import fields
from skillpay.aggregate import Aggregate, Entity
from skillpay.clock import shanghai_date
from skillpay.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied, require

HIGHEST_LEVEL, LOWEST_LEVEL = 1, 5  # L3: 5 (初级) .. 1 (高级技师)
# The vocational qualification system this catalogue follows: no certificate is older.
EARLIEST_CERTIFICATE = date(1990, 1, 1)
MAX_APPROVED_OCCUPATIONS = 200
MAX_VALIDITY_YEARS = 10  # V5: a batch's vouchers expire; nothing stays valid for decades


def check_level(level: int, violations: list[FieldViolation], field_name: str = "level") -> None:
    if isinstance(level, bool) or not isinstance(level, int) or not HIGHEST_LEVEL <= level <= LOWEST_LEVEL:
        violations.append(FieldViolation(field_name, "must be between 1 (高级技师) and 5 (初级)"))


@dataclass
class Occupation(Entity):
    """A1: a catalogue occupation at one level, with its subsidy standard in fen."""

    audit_type = "occupation"

    code: str
    name: str
    level: int
    subsidy_standard_fen: int
    new_occupation: bool
    created_at: datetime

    @classmethod
    def register(cls, code: str, name: str, level: int, subsidy_standard_fen: int, new_occupation: bool,
                 now: datetime) -> "Occupation":
        violations: list[FieldViolation] = []
        code = fields.OCCUPATION_CODE.check(code, "code", violations)
        name = fields.PERSON_NAME.check(name, "name", violations)
        check_level(level, violations)
        fields.SUBSIDY_FEN.check(subsidy_standard_fen, "subsidy_standard_fen", violations)
        require(violations)
        return cls(code, name, level, subsidy_standard_fen, new_occupation, now)

    def audit_id(self) -> str:
        return f"{self.code}|{self.level}"


class InstitutionStatus(enum.Enum):
    ACTIVE = "active"
    REMOVED = "removed"


@dataclass
class Institution(Entity):
    """P1: a training institution in the published catalogue, approved for some occupations."""

    audit_type = "institution"

    institution_id: str
    name: str
    credit_code: str
    address: str
    occupation_codes: list[str]
    status: InstitutionStatus
    created_at: datetime

    @classmethod
    def register(cls, institution_id: str, name: str, credit_code: str, address: str,
                 occupation_codes: list[str], now: datetime) -> "Institution":
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
        require(violations)
        return cls(institution_id, name, credit_code, address, occupation_codes, InstitutionStatus.ACTIVE, now)

    def audit_id(self) -> str:
        return self.institution_id

    def can_train(self, occupation_code: str) -> bool:
        """P1 and X3: only active catalogue institutions approved for the occupation."""
        return self.status is InstitutionStatus.ACTIVE and occupation_code in self.occupation_codes


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

    @classmethod
    def record(cls, certificate_id: str, certificate_number: str, certificate_type: CertificateType | None,
               holder: PersonIdentity, occupation_code: str, level: int, issued_on: date | None,
               now: datetime) -> "Certificate":
        require(cls.field_violations(certificate_number, certificate_type, occupation_code, level, issued_on, now))
        certificate_number, occupation_code = certificate_number.strip(), occupation_code.strip()
        return cls(certificate_id, certificate_number, certificate_type, holder, occupation_code, level, issued_on, now)

    @staticmethod
    def field_violations(certificate_number: str, certificate_type: CertificateType | None, occupation_code: str,
                         level: int, issued_on: date | None, now: datetime) -> list[FieldViolation]:
        """What recording needs of the request, all of it checked at once."""
        violations: list[FieldViolation] = []
        fields.CERTIFICATE_NUMBER.check(certificate_number, "certificate_number", violations)
        fields.OCCUPATION_CODE.check(occupation_code, "occupation_code", violations)
        if certificate_type is None:
            violations.append(FieldViolation("certificate_type", "is required"))
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


class VoucherState(enum.Enum):
    """V4: issued -> enrolled -> redeemed -> paid; also expired, cancelled, revoked."""

    ISSUED = "issued"
    ENROLLED = "enrolled"
    REDEEMED = "redeemed"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REVOKED = "revoked"


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
    version: int = field(default=0, compare=False)

    @classmethod
    def issue(cls, voucher_id: str, holder: PersonIdentity, occupation: Occupation, fund_source: str,
              batch_id: str, valid_until: datetime, now: datetime) -> "Voucher":
        """V1, V4, V5: a real-name voucher for one catalogue occupation, paid from a named fund."""
        violations = cls.field_violations(fund_source, batch_id, valid_until, now)
        require(violations)
        return cls(voucher_id, holder, occupation.code, occupation.level, fund_source.strip(), batch_id.strip(),
                   now, valid_until)

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
        # A failed payout is a change worth an audit record although the V4 state stays "redeemed".
        return "payout_failed" if self.payout_status is PayoutStatus.FAILED else self.state.value

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
        if not institution.can_train(occupation_code):
            raise FailedPrecondition("institution is not in the catalogue for this occupation (P1, X3)")
        if not real_person_verified:
            raise FailedPrecondition("the holder's real-person check has not passed (V2, X1)")
        self.state = VoucherState.ENROLLED
        self.occupation_code, self.level = occupation_code, level
        self.institution_id = institution.institution_id
        self.real_person_verified = True
        self.enrolled_at = now

    def redeem(self, certificate: Certificate, occupation: Occupation, now: datetime) -> None:
        """V2, V3: a certificate of the same person and occupation redeems the voucher once.

        The value is fixed now, at redemption; here it is the occupation's standard (the rate
        table of A2-A4 comes with the eligibility rules).
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
        self.state = VoucherState.REDEEMED
        self.certificate_id = certificate.certificate_id
        self.value_fen = occupation.subsidy_standard_fen
        self.redeemed_at = now
        certificate.redeemed_voucher_id = self.voucher_id
        self.record(VoucherRedeemed(
            self.voucher_id, self.holder, self.institution_id or "", self.occupation_code, self.level,
            certificate.certificate_id, certificate.certificate_type, self.value_fen, self.fund_source, now,
        ))

    def mark_paid(self, payment_id: str, paid_at: datetime) -> bool:
        """V4: the subsidy landed. Returns False when nothing changed (already paid)."""
        if self.state is VoucherState.PAID:
            return False
        if self.state is not VoucherState.REDEEMED:
            raise FailedPrecondition(f"voucher is {self.state.value}; only a redeemed voucher can be paid")
        self.state = VoucherState.PAID
        self.payment_id = payment_id
        self.paid_at = paid_at
        self.payout_failure_reason = ""
        return True

    def payout_failed(self, reason: str) -> bool:
        """A payout of this voucher failed (the ledger's payment.failed): shown with its reason.

        Only a redeemed voucher has a payout to fail; a report that comes after the voucher was
        paid (an older attempt's, read late) changes nothing. False when nothing changed.
        """
        if self.state is not VoucherState.REDEEMED:
            return False
        # Another service's text: one plain, bounded line (no control or reordering characters).
        plain = "".join(" " if fields.hidden_characters(ch) else ch for ch in reason)
        reason = " ".join(plain.split())[:MAX_FAILURE_REASON_CHARS] or "payout failed"
        if reason == self.payout_failure_reason:
            return False
        self.payout_failure_reason = reason
        return True
