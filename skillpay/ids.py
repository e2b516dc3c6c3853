"""Identifiers that sort by creation time, so keyset pagination follows creation order."""

from __future__ import annotations

import hashlib
import secrets
import time


def new_id(prefix: str) -> str:
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"


def derived_id(prefix: str, *facts: str | int) -> str:
    """An id that is a function of the fact that caused it: the same fact always gives the same id.

    Used for everything that leads to money (claims, claim lines, payout requests), so that a
    replayed event or a database restored from an old backup re-creates the same ids and the
    ledger and the bank recognise them instead of paying again.
    """
    text = "\x1f".join(map(str, facts))
    return f"{prefix}_{hashlib.sha256(text.encode()).hexdigest()[:32]}"
