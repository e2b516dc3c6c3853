"""Employment evidence (A2, A5; C2's project employment rates in claim_svc).

One record says: this person works for this employer since this date, as this source shows. The
bureau or a training institution records it. Its id derives from what it says (person, employer,
start date, source), so recording the same evidence again finds the first record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from skillpay import fields
from skillpay.aggregate import Aggregate
from skillpay.clock import shanghai_date
from skillpay.errors import FieldViolation, require
from skillpay.ids import derived_id
from voucher_svc.domain.model import PersonIdentity

# Nothing older is evidence for a subsidy this system pays (the qualification system's start, as certificates).
EARLIEST_EMPLOYMENT = date(1990, 1, 1)


class EmploymentSource(enum.Enum):
    SOCIAL_INSURANCE = "social_insurance"  # social insurance contributions (参保记录)
    LABOUR_CONTRACT = "labour_contract"  # a signed labour contract (劳动合同)
    SELF_EMPLOYMENT = "self_employment"  # a self-employment / business registration (灵活就业、个体登记)


@dataclass(frozen=True)
class EmploymentRecorded:
    employment_id: str
    person: PersonIdentity
    employer_credit_code: str
    employer_name: str
    start_date: date
    source: EmploymentSource
    recorded_by: str
    recorded_at: datetime


def employment_id_for(id_lookup: str, employer_credit_code: str, start_date: date, source: EmploymentSource) -> str:
    return derived_id("emp", id_lookup, employer_credit_code, start_date.isoformat(), source.value)


@dataclass
class EmploymentRecord(Aggregate):
    audit_type = "employment"

    employment_id: str
    person: PersonIdentity
    employer_credit_code: str
    employer_name: str
    start_date: date
    source: EmploymentSource
    recorded_by: str  # "<actor kind>:<subject>"
    recorded_at: datetime

    @classmethod
    def create(cls, person: PersonIdentity, employer_credit_code: str, employer_name: str, start_date: date | None,
               source: EmploymentSource | None, recorded_by: str, now: datetime) -> EmploymentRecord:
        violations: list[FieldViolation] = []
        code, name = cls.check_fields(employer_credit_code, employer_name, start_date, source, now, violations)
        require(violations)
        record = cls(employment_id_for(person.id_lookup, code, start_date, source), person, code, name, start_date,
                     source, recorded_by, now)
        record.record(EmploymentRecorded(record.employment_id, person, code, name, start_date, source, recorded_by,
                                         now))
        return record

    @staticmethod
    def check_fields(employer_credit_code: str, employer_name: str, start_date: date | None,
                     source: EmploymentSource | None, now: datetime,
                     violations: list[FieldViolation]) -> tuple[str, str]:
        """Every bad field at once; returns the credit code (canonical) and name as stored."""
        name = fields.ORGANISATION_NAME.check(employer_name, "employer_name", violations)
        code = fields.UNIFIED_CREDIT_CODE.check(employer_credit_code, "employer_credit_code", violations)
        if code:
            try:
                code = uscc.validate(code)
            except ValidationError as exc:
                violations.append(FieldViolation("employer_credit_code",
                                                 f"not a valid unified social credit code ({exc.message})"))
        if start_date is None:
            violations.append(FieldViolation("start_date", "is required"))
        elif start_date > shanghai_date(now):
            violations.append(FieldViolation("start_date", "must not be in the future"))
        elif start_date < EARLIEST_EMPLOYMENT:
            violations.append(FieldViolation("start_date", f"must not be before {EARLIEST_EMPLOYMENT.isoformat()}"))
        if source is None:
            violations.append(FieldViolation("source", "is required (social insurance, labour contract or "
                                                       "self-employment)"))
        return code, name

    def audit_id(self) -> str:
        return self.employment_id
