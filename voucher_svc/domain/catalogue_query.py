"""What the catalogue lists can be filtered by (A1, P1), checked like any other input.

Pure: the repositories turn a filter into a query; ``binding`` names everything a page token
must be bound to, so a token is only ever used with the filters it was issued for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from skillpay import fields
from skillpay.errors import FieldViolation, require
from voucher_svc.domain.model import EARLIEST_CERTIFICATE, InstitutionStatus, check_level


@dataclass(frozen=True)
class OccupationFilter:
    """Versions in force on ``in_force_on`` (None: the caller's today), narrowed by the others."""

    code_prefix: str = ""
    level: int = 0  # 0: every level
    region: str = ""  # "": every region (national entries have region "")
    in_force_on: date | None = None

    @classmethod
    def checked(cls, code_prefix: str, level: int, region: str, in_force_on: date | None) -> OccupationFilter:
        violations: list[FieldViolation] = []
        code_prefix = fields.OCCUPATION_CODE_PREFIX.check(code_prefix, "code_prefix", violations, required=False)
        if level:
            check_level(level, violations)
        region = fields.REGION_CODE.check(region, "region", violations, required=False)
        if in_force_on is not None and in_force_on < EARLIEST_CERTIFICATE:
            violations.append(FieldViolation("in_force_on", f"must not be before {EARLIEST_CERTIFICATE.isoformat()}"))
        require(violations)
        return cls(code_prefix, level, region, in_force_on)

    def binding(self) -> dict[str, str]:
        return {"code_prefix": self.code_prefix, "level": str(self.level), "region": self.region,
                "in_force_on": self.in_force_on.isoformat() if self.in_force_on else "today"}


@dataclass(frozen=True)
class InstitutionFilter:
    status: InstitutionStatus | None = None
    region: str = ""
    occupation_code: str = ""  # approved for this occupation
    name_contains: str = ""  # matched literally, not as a pattern

    @classmethod
    def checked(cls, status: InstitutionStatus | None, region: str, occupation_code: str,
                name_contains: str) -> InstitutionFilter:
        violations: list[FieldViolation] = []
        region = fields.REGION_CODE.check(region, "region", violations, required=False)
        occupation_code = fields.OCCUPATION_CODE.check(occupation_code, "occupation_code", violations,
                                                       required=False)
        name_contains = fields.NAME_SEARCH.check(name_contains, "name_contains", violations, required=False)
        require(violations)
        return cls(status, region, occupation_code, name_contains)

    def binding(self) -> dict[str, str]:
        return {"status": self.status.value if self.status else "", "region": self.region,
                "occupation_code": self.occupation_code, "name_contains": self.name_contains}
