"""Time helpers: every timestamp is timezone-aware; working days follow Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; we only ever store UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def shanghai_date(value: datetime) -> date:
    return value.astimezone(SHANGHAI).date()
