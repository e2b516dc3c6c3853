"""Time helpers: every timestamp is timezone-aware; working days follow Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Clock(Protocol):
    """Injected wherever time matters, so tests never depend on the time of day."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class FixedClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, now: datetime):
        if now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware time")
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; we only ever store UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def shanghai_date(value: datetime) -> date:
    return value.astimezone(SHANGHAI).date()
