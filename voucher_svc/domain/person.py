"""Persons (V1, X1): one natural person, keyed by the keyed hash of their resident ID.

A person is known from the first voucher issued or certificate recorded for them; their row is
also the one every command changing what they are entitled to locks first (L1-L4). It holds
the ID only sealed and masked, and the hardship groups of A6 (the living allowance claim_svc
pays later).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from skillpay.aggregate import Aggregate
from skillpay.clock import shanghai_date
from skillpay.errors import FieldViolation, require
from voucher_svc.domain.model import PersonIdentity

# A6 effective dates: the policy texts start long after this; a year ahead is planning, not more.
EARLIEST_HARDSHIP_DATE = date(2000, 1, 1)
MAX_HARDSHIP_DAYS_AHEAD = 366


class HardshipGroup(enum.Enum):
    """A6 (S3 二(五)): the listed groups whose members get a living allowance while training."""

    LOW_INCOME_RURAL_HOUSEHOLD = "low_income_rural_household"  # 建档立卡低收入农户中的劳动力
    SUBSISTENCE_ALLOWANCE = "subsistence_allowance"  # 城乡低保对象中的劳动力
    EMPLOYMENT_DIFFICULTY = "employment_difficulty"  # 就业困难人员
    ZERO_EMPLOYMENT_FAMILY = "zero_employment_family"  # 零就业家庭成员
    RURAL_GRADUATE_NOT_IN_SCHOOL = "rural_graduate_not_in_school"  # 农村未继续升学初高中毕业生
    URBAN_SUBSISTENCE_FAMILY = "urban_subsistence_family"  # 城市低保家庭学员


# One letter per group, so an audit state ("hardship:DZ@2025-03-01") fits its column.
_AUDIT_LETTER = {
    HardshipGroup.LOW_INCOME_RURAL_HOUSEHOLD: "R",
    HardshipGroup.SUBSISTENCE_ALLOWANCE: "S",
    HardshipGroup.EMPLOYMENT_DIFFICULTY: "D",
    HardshipGroup.ZERO_EMPLOYMENT_FAMILY: "Z",
    HardshipGroup.RURAL_GRADUATE_NOT_IN_SCHOOL: "G",
    HardshipGroup.URBAN_SUBSISTENCE_FAMILY: "U",
}


@dataclass(frozen=True)
class HardshipGroupsSet:
    """A6: the listed hardship groups a person belongs to from a date on (claim_svc's living allowance)."""

    person: PersonIdentity
    groups: tuple[str, ...]  # HardshipGroup values, sorted; empty: none
    effective_from: date
    set_at: datetime


@dataclass
class Person(Aggregate):
    audit_type = "person"

    id_lookup: str
    name: str
    id_sealed: bytes
    id_masked: str
    hardship_groups: frozenset[HardshipGroup] = frozenset()
    hardship_effective_from: date | None = None  # None: never set
    version: int = field(default=0, compare=False)

    @classmethod
    def register(cls, identity: PersonIdentity) -> Person:
        """V1: first seen on a voucher or a certificate."""
        return cls(identity.id_lookup, identity.name, identity.id_sealed, identity.id_masked)

    @property
    def identity(self) -> PersonIdentity:
        return PersonIdentity(self.name, self.id_lookup, self.id_sealed, self.id_masked)

    def refresh(self, identity: PersonIdentity) -> bool:
        """A later voucher or certificate names the person again; True when the name changed.

        The ID is the same (same look-up hash); only its sealing differs (a fresh nonce), so the
        stored seal is kept unless the name changed, when the whole identity is taken over.
        """
        if identity.id_lookup != self.id_lookup:
            raise ValueError("refresh needs the same person")
        if identity.name == self.name and identity.id_masked == self.id_masked:
            return False
        self.name, self.id_sealed, self.id_masked = identity.name, identity.id_sealed, identity.id_masked
        return True

    def set_hardship_groups(self, groups: list[HardshipGroup | None], effective_from: date | None,
                            now: datetime) -> None:
        """A6: the groups the person belongs to from ``effective_from`` on (an empty list: none)."""
        require(self.hardship_violations(groups, effective_from, now))
        self.hardship_groups = frozenset(groups)
        self.hardship_effective_from = effective_from
        self.record(HardshipGroupsSet(self.identity, tuple(sorted(g.value for g in self.hardship_groups)),
                                      effective_from, now))

    @staticmethod
    def hardship_violations(groups: list[HardshipGroup | None], effective_from: date | None,
                            now: datetime) -> list[FieldViolation]:
        violations: list[FieldViolation] = []
        seen: set[HardshipGroup] = set()
        if len(groups) > len(HardshipGroup):
            violations.append(FieldViolation("groups", f"list at most {len(HardshipGroup)} groups"))
            groups = []
        for i, group in enumerate(groups):
            if group is None:
                violations.append(FieldViolation(f"groups[{i}]", "is not a listed hardship group (A6)"))
            elif group in seen:
                violations.append(FieldViolation(f"groups[{i}]", "is listed twice"))
            else:
                seen.add(group)
        if effective_from is None:
            violations.append(FieldViolation("effective_from", "is required"))
        elif effective_from < EARLIEST_HARDSHIP_DATE:
            violations.append(FieldViolation("effective_from", f"must not be before {EARLIEST_HARDSHIP_DATE}"))
        elif effective_from > shanghai_date(now) + timedelta(days=MAX_HARDSHIP_DAYS_AHEAD):
            violations.append(FieldViolation("effective_from", f"must be within {MAX_HARDSHIP_DAYS_AHEAD} days"))
        return violations

    def audit_id(self) -> str:
        return self.id_lookup

    def audit_state(self) -> str:
        if self.hardship_effective_from is None:
            return "recorded"
        letters = "".join(sorted(_AUDIT_LETTER[g] for g in self.hardship_groups)) or "-"
        return f"hardship:{letters}@{self.hardship_effective_from.isoformat()}"
