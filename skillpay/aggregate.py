"""Bases for domain entities and aggregates (pure Python; domain code imports them).

Every entity can say what it is and what state it is in, so the unit of work can write one audit
record per state change without each handler having to remember to.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class Entity:
    audit_type: ClassVar[str] = ""

    def audit_id(self) -> str:  # pragma: no cover - every entity overrides it
        raise NotImplementedError

    def audit_state(self) -> str:
        """The state named in audit records: the ``state`` enum, else 'recorded' for records without one."""
        state = getattr(self, "state", None)
        return state.value if isinstance(state, enum.Enum) else "recorded"


class Aggregate(Entity):
    """Records domain events; the unit of work turns them into outbox rows on commit."""

    @property
    def pending_events(self) -> list:
        if not hasattr(self, "_pending_events"):
            object.__setattr__(self, "_pending_events", [])
        return self._pending_events

    def record(self, event) -> None:
        self.pending_events.append(event)

    def pull_events(self) -> list:
        events = list(self.pending_events)
        self.pending_events.clear()
        return events
