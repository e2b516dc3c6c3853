"""What a redeemed voucher is worth (POLICY.md A2-A5): a pure function of the redemption's facts.

Inputs: the occupation's subsidy standard (fen) and new-occupation flag, the certificate's type
and date, and the start dates of the person's employment known at redemption. Output: the value,
the rate, the rule applied, and the employment window the rule looked at.

Decisions where the text leaves room (all configurable in ``ValuationPolicy``):

- **Window.** Employment qualifies for A2 when it starts on or before the certificate date plus
  3 calendar months (POLICY.md). A month-end date clamps to the shorter month's last day:
  11-30 + 3 months = 02-28 (02-29 in a leap year), 08-31 + 3 = 11-30.
- **Look-back.** How long before the certificate a start date may lie. Default: no limit (a job
  that started before the certificate and is recorded counts; we hold no end dates); set
  ``employment_lookback_days`` to require e.g. a start no earlier than 30 days before it.
- **Rounding.** Integer fen, rounded down (floor): a payment never exceeds rate x standard. The
  A5 top-up is the full (A2) value minus what was paid, so value + top-up never exceed the
  standard either.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

# add_months clamps to the month's last day, as L4's cooling month does (11-30 + 3 = 02-28/29).
from voucher_svc.domain.eligibility import add_months
from voucher_svc.domain.model import CertificateType


class ValuationRule(enum.Enum):
    A2 = "A2"  # employed within the window: 100%
    # qualification, skill-level, special-ability certificate, or training-qualified for a new occupation: 80%
    A3 = "A3"
    A4 = "A4"  # training-qualified certificate for another occupation: 50%


# A3: these certificates earn 80% whatever the occupation; a training-qualified one only for a
# MOHRSS new occupation.
CERTIFIED = frozenset({CertificateType.VOCATIONAL_QUALIFICATION, CertificateType.SKILL_LEVEL,
                       CertificateType.SPECIAL_ABILITY})


@dataclass(frozen=True)
class ValuationPolicy:
    """The POLICY.md defaults; a region with other rates or another window configures another instance."""

    employed_percent: int = 100  # A2
    certified_percent: int = 80  # A3
    training_qualified_percent: int = 50  # A4
    employment_window_months: int = 3  # A2: calendar months after the certificate date
    employment_lookback_days: int | None = None  # None: any start up to the window end counts

    def __post_init__(self) -> None:
        rates = (self.employed_percent, self.certified_percent, self.training_qualified_percent)
        if not all(0 < r <= 100 for r in rates):
            raise ValueError("valuation rates are percentages between 1 and 100")
        if (not self.certified_percent <= self.employed_percent
                or not self.training_qualified_percent <= self.employed_percent):
            raise ValueError("A3/A4 rates may not exceed the A2 rate (A5 tops them up to it)")
        if self.employment_window_months < 0 or (self.employment_lookback_days or 0) < 0:
            raise ValueError("the employment window is counted forwards from the certificate date")

    def window(self, certificate_date: date) -> tuple[date | None, date]:
        """A2's employment window for a certificate: (earliest start or None, last start day)."""
        start = (certificate_date - timedelta(days=self.employment_lookback_days)
                 if self.employment_lookback_days is not None else None)
        return start, add_months(certificate_date, self.employment_window_months)

    def value(self, standard_fen: int, new_occupation: bool, certificate_type: CertificateType,
              certificate_date: date, employment_starts: Iterable[date]) -> Valuation:
        """A2-A4: the value of a redemption with the employment known now."""
        window_start, window_end = self.window(certificate_date)
        if any(in_window(start, window_start, window_end) for start in employment_starts):
            rule, rate = ValuationRule.A2, self.employed_percent
        elif certificate_type in CERTIFIED or (certificate_type is CertificateType.TRAINING_QUALIFIED
                                               and new_occupation):
            rule, rate = ValuationRule.A3, self.certified_percent
        else:
            rule, rate = ValuationRule.A4, self.training_qualified_percent
        return Valuation(percent_of(standard_fen, rate), rate, rule, standard_fen, window_start, window_end)

    def full_value(self, standard_fen: int) -> int:
        """A2's value of a standard: what A5 lifts an 80%/50% payment to."""
        return percent_of(standard_fen, self.employed_percent)


@dataclass(frozen=True)
class Valuation:
    value_fen: int
    rate_percent: int
    rule: ValuationRule
    standard_fen: int
    window_start: date | None  # None: no lower bound
    window_end: date


def percent_of(standard_fen: int, percent: int) -> int:
    """Integer fen, rounded down: never more than the rate allows (150_001 fen at 80% = 120_000)."""
    return standard_fen * percent // 100


def in_window(start: date, window_start: date | None, window_end: date) -> bool:
    return start <= window_end and (window_start is None or start >= window_start)


DEFAULT_VALUATION = ValuationPolicy()
