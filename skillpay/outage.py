"""Log an outage once per change of state, not once per failed attempt.

A relay or consumer retries a broker or database that is down every second or so; logging each
attempt buried everything else (about 1,000 lines per service in 10 s of a stopped broker). An
:class:`Outage` logs "unreachable" when it starts, "still unreachable for N s" at most once per
``remind_every_s``, and "recovered after N s" when it ends. The clock is injectable for tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Outage:
    def __init__(self, log: logging.Logger, what: str, clock: Callable[[], float] = time.monotonic,
                 remind_every_s: float = 60.0):
        self._log = log
        self._what = what
        self._clock = clock
        self._remind_every = remind_every_s
        self._since: float | None = None
        self._reminded_at = 0.0
        self.outages = 0  # how many outages began, for tests and metrics

    @property
    def down(self) -> bool:
        return self._since is not None

    def down_for_s(self) -> float:
        return 0.0 if self._since is None else self._clock() - self._since

    def failed(self, exc: BaseException | None = None) -> None:
        """An attempt failed: log if this starts an outage, or if it is time for a reminder."""
        now = self._clock()
        reason = f" ({type(exc).__name__})" if exc is not None else ""
        if self._since is None:
            self._since = self._reminded_at = now
            self.outages += 1
            self._log.warning("%s unreachable%s; retrying quietly", self._what, reason)
        elif now - self._reminded_at >= self._remind_every:
            self._reminded_at = now
            self._log.warning("%s still unreachable for %d s%s", self._what, now - self._since, reason)

    def ok(self) -> None:
        """An attempt succeeded: log the recovery if there was an outage."""
        if self._since is not None:
            self._log.warning("%s recovered after %d s", self._what, self._clock() - self._since)
            self._since = None


class RateLimit(logging.Filter):
    """At most one record per logger and message template per ``every_s``; for chatty libraries.

    Installed on a library's loggers (aiokafka logs each failed connection attempt at ERROR), so
    a message that repeats is still seen, once a minute, and a new kind of message is not hidden.
    """

    def __init__(self, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self._every = every_s
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._every:
            return False
        if len(self._last) > 1000:  # bounded, whatever a library logs
            self._last.clear()
        self._last[key] = now
        return True


_installed: dict[str, RateLimit] = {}


def limit_library_logs(prefix: str = "aiokafka") -> None:
    """Rate-limit every logger of a library (call after importing it; idempotent).

    A filter acts on the logger it is added to only, not on its children, so each one gets it.
    """
    limit = _installed.setdefault(prefix, RateLimit())
    names = [prefix] + [n for n in logging.Logger.manager.loggerDict if n.startswith(prefix + ".")]
    for name in names:
        logger = logging.getLogger(name)
        if limit not in logger.filters:
            logger.addFilter(limit)
