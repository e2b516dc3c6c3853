"""Base for domain aggregates that record events (pure Python; domain code imports it)."""

from __future__ import annotations


class Aggregate:
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
