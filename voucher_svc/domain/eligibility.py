"""Limits on repeat subsidies (POLICY.md L1-L4): one policy for enrolment and redemption.

Pure: it looks at a person's subsidy history (derived from their vouchers) and one candidate,
and returns every rule the candidate breaks, so a caller learns all of them at once.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from skillpay.errors import FailedPrecondition, PreconditionViolation
from voucher_svc.domain.model import Voucher, VoucherState

# Subsidised = redeemed or paid; issued, enrolled, expired, cancelled, revoked (and a rolled-back
# redemption, which leaves neither state) count for nothing.
SUBSIDISED = frozenset({VoucherState.REDEEMED, VoucherState.PAID})


@dataclass(frozen=True)
class EligibilityLimits:
    """The POLICY.md defaults; a region with other limits configures another instance."""

    per_year: int = 3  # L1
    timezone: str = "Asia/Shanghai"  # L1, L4: calendar years and months as the bureau counts them
    cooling_months: int = 1  # L4: calendar months after the last assessment


DEFAULT_LIMITS = EligibilityLimits()


@dataclass(frozen=True)
class HistoryEntry:
    """One voucher of the person, as far as eligibility cares."""

    voucher_id: str
    occupation_code: str
    level: int  # 5 (初级) .. 1 (高级技师): a smaller number is a higher level
    state: VoucherState
    certificate_date: date | None = None  # the assessment (certificate issue date) of a redeemed one
    valid_until: datetime | None = None  # an enrolled voucher past it is no longer a training under way

    @classmethod
    def of(cls, voucher: Voucher, certificate_date: date | None) -> "HistoryEntry":
        return cls(voucher.voucher_id, voucher.occupation_code, voucher.level, voucher.state, certificate_date,
                   voucher.valid_until)

    @property
    def subsidised(self) -> bool:
        return self.state in SUBSIDISED


@dataclass(frozen=True)
class Candidate:
    """What is asked for: enrolment (``enrolled_at``) or redemption (``certificate_date``)."""

    voucher_id: str
    occupation_code: str
    level: int
    certificate_date: date | None = None
    enrolled_at: datetime | None = None


@dataclass(frozen=True)
class EligibilityPolicy:
    limits: EligibilityLimits = field(default_factory=EligibilityLimits)

    def violations(self, history: Iterable[HistoryEntry], candidate: Candidate) -> list[PreconditionViolation]:
        """Every rule of L1-L4 that the candidate breaks, in rule order; empty when eligible."""
        others = [h for h in history if h.voucher_id != candidate.voucher_id]
        subsidised = [h for h in others if h.subsidised]
        found: list[PreconditionViolation] = []
        if candidate.certificate_date is not None:
            year = candidate.certificate_date.year
            in_year = sum(1 for h in subsidised if h.certificate_date and h.certificate_date.year == year)
            if in_year >= self.limits.per_year:
                found.append(_violation(
                    "L1", f"每人每年最多享受{self.limits.per_year}次培训补贴，{year}年已享受{in_year}次",
                    f"at most {self.limits.per_year} subsidies per person per calendar year; {in_year} already "
                    f"in {year}"))
        same = (candidate.occupation_code, candidate.level)
        if any((h.occupation_code, h.level) == same for h in subsidised):
            found.append(_violation(
                "L2", "同一职业（工种）同一等级只能享受一次补贴",
                f"occupation {candidate.occupation_code} at level {candidate.level} was already subsidised"))
        higher = [h.level for h in subsidised if h.occupation_code == candidate.occupation_code
                  and h.level < candidate.level]
        if higher:
            found.append(_violation(
                "L3", "已享受该职业（工种）较高等级补贴的，不再享受较低等级补贴",
                f"level {min(higher)} of occupation {candidate.occupation_code} was already subsidised; no subsidy "
                f"for the lower level {candidate.level}"))
        if candidate.enrolled_at is not None:
            found += self._cooling(others, subsidised, candidate.enrolled_at)
        return found

    def check(self, history: Iterable[HistoryEntry], candidate: Candidate) -> None:
        """Raise FailedPrecondition naming every failed rule."""
        found = self.violations(history, candidate)
        if found:
            raise FailedPrecondition(violations=found)

    def _cooling(self, others: list[HistoryEntry], subsidised: list[HistoryEntry],
                 enrolled_at: datetime) -> list[PreconditionViolation]:
        """L4: the previous subsidised training is assessed, and a full calendar month has passed."""
        if any(h.state is VoucherState.ENROLLED and (h.valid_until is None or enrolled_at < h.valid_until)
               for h in others):
            return [_violation("L4", "上一次补贴性培训尚未考核，不能报名新的培训",
                               "the previous subsidised training has not been assessed yet")]
        assessed = [h.certificate_date for h in subsidised if h.certificate_date]
        if not assessed:
            return []
        last = max(assessed)
        allowed_from = add_months(last, self.limits.cooling_months)
        today = enrolled_at.astimezone(ZoneInfo(self.limits.timezone)).date()
        if today < allowed_from:
            return [_violation("L4", f"上一次培训考核（{last.isoformat()}）后满{self.limits.cooling_months}个月方可"
                                     f"报名，最早{allowed_from.isoformat()}",
                               f"less than {self.limits.cooling_months} calendar month(s) since the last assessment "
                               f"on {last.isoformat()}; enrolment possible from {allowed_from.isoformat()}")]
        return []


DEFAULT_POLICY = EligibilityPolicy()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later, or that month's last day (Jan 31 + 1 = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _violation(rule: str, zh: str, en: str) -> PreconditionViolation:
    # Chinese first for the bureau's staff and apps, English after it for everyone else.
    return PreconditionViolation(rule, "person", f"{zh} / {en}")
