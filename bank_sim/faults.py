"""Fault injection of the bank simulator: a plan of rules, each picking payments by id or by a
reproducible fraction.

A rule ``{"mode": ..., "payment_ids": [...], "fraction": f, ...}`` applies to a payment named
in ``payment_ids`` or, for a fraction, to a payment whose keyed draw
``sha256(seed, mode, payment_id)`` (a number in [0, 1)) is below ``f``.  The draw depends only on
the seed, the mode and the payment id, so the same seed picks the same payments in every run,
whatever the order or the batches they come in (and a payment sent again meets the same fate).

Modes (parameters, defaults):

- ``reject`` (``reason``, ``"rejected_by_bank"``): the instruction is answered "rejected" with
  the reason; nothing is stored or paid.
- ``delay`` (``delay_ms``, 1000): the payment's outcome takes effect that much later.
- ``timeout`` (``hold_ms``, 30000): the batch is stored and paid as usual but its HTTP answer
  is held back that long (a client with a shorter timeout never learns of it: "in doubt").
- ``drop``: the batch is stored and paid as usual but the connection is closed without an
  answer (no answer at all).
- ``duplicate``: the same outcome is delivered twice: the batch answer lists the instruction's
  result twice (the answer is repeated; the payment is booked once).
- ``double_booking``: the bank's own error: the payout is booked twice, so the CSV / camt.053
  statement files list its line twice (what reconciliation must flag as a duplicate).
- ``return`` (``after_days``, 1; ``reason``, ``"AC04"``): a payment that settles comes back
  ``after_days`` later as a CRDT ``returned`` line with the ISO reason code on that day's
  statement.

A batch is held or dropped when any of its instructions is picked for ``timeout`` / ``drop``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bank_sim.store import Effects

MODES = ("reject", "delay", "timeout", "drop", "duplicate", "double_booking", "return")
MAX_DELAY_MS = 7 * 24 * 3600 * 1000
MAX_HOLD_MS = 10 * 60 * 1000
MAX_RETURN_DAYS = 30
MAX_RULES = 32
MAX_IDS = 10_000
REASON_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
ISO_REASON_RE = re.compile(r"[A-Z]{2}[0-9]{2}")


def draw(seed: int, mode: str, payment_id: str) -> float:
    """A number in [0, 1) that depends only on (seed, mode, payment_id)."""
    digest = hashlib.sha256(f"{seed}\x1f{mode}\x1f{payment_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Rule:
    mode: str
    payment_ids: frozenset[str] = frozenset()
    fraction: float = 0.0
    reason: str = ""
    delay_ms: int = 1000
    hold_ms: int = 30_000
    after_days: int = 1

    def picks(self, seed: int, payment_id: str) -> bool:
        if payment_id in self.payment_ids:
            return True
        return self.fraction > 0 and draw(seed, self.mode, payment_id) < self.fraction

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "payment_ids": sorted(self.payment_ids), "fraction": self.fraction}
        if self.mode in ("reject", "return"):
            out["reason"] = self.reason
        if self.mode == "delay":
            out["delay_ms"] = self.delay_ms
        if self.mode == "timeout":
            out["hold_ms"] = self.hold_ms
        if self.mode == "return":
            out["after_days"] = self.after_days
        return out


@dataclass(frozen=True)
class Decision:
    """What the plan does to one instruction."""

    reject_reason: str | None = None
    effects: Effects = field(default_factory=Effects)
    hold_ms: int = 0
    drop: bool = False


@dataclass(frozen=True)
class FaultPlan:
    seed: int = 0
    rules: tuple[Rule, ...] = ()

    def decide(self, payment_id: str) -> Decision:
        reject = None
        extra_delay = timedelta(0)
        duplicate = drop = double_booking = False
        hold = 0
        return_days = return_reason = None
        for rule in self.rules:
            if not rule.picks(self.seed, payment_id):
                continue
            if rule.mode == "reject" and reject is None:
                reject = rule.reason
            elif rule.mode == "delay":
                extra_delay += timedelta(milliseconds=rule.delay_ms)
            elif rule.mode == "timeout":
                hold = max(hold, rule.hold_ms)
            elif rule.mode == "drop":
                drop = True
            elif rule.mode == "duplicate":
                duplicate = True
            elif rule.mode == "double_booking":
                double_booking = True
            elif rule.mode == "return" and return_days is None:
                return_days, return_reason = rule.after_days, rule.reason
        return Decision(reject, Effects(extra_delay=extra_delay, duplicate=duplicate,
                                        return_after_days=return_days, return_reason=return_reason,
                                        double_booking=double_booking),
                        hold, drop)

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [rule.to_json() for rule in self.rules]}


def _int(raw: dict, key: str, default: int, low: int, high: int, where: str, violations: list) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        violations.append({"field": f"{where}.{key}", "description": f"must be an integer between {low} and {high}"})
        return default
    return value


def parse_plan(body: dict[str, Any]) -> tuple[FaultPlan | None, list[dict[str, str]]]:
    """``{"seed": int, "rules": [rule, ...]}``; every bad field named, values never echoed."""
    violations: list[dict[str, str]] = []
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        violations.append({"field": "seed", "description": "must be an integer between 0 and 2**63-1"})
    raw_rules = body.get("rules", [])
    if not isinstance(raw_rules, list) or len(raw_rules) > MAX_RULES:
        violations.append({"field": "rules", "description": f"must be a list of at most {MAX_RULES} rules"})
        raw_rules = []
    rules = []
    for i, raw in enumerate(raw_rules):
        where = f"rules[{i}]"
        if not isinstance(raw, dict):
            violations.append({"field": where, "description": "must be an object"})
            continue
        mode = raw.get("mode")
        if mode not in MODES:
            violations.append({"field": f"{where}.mode", "description": "must be one of: " + ", ".join(MODES)})
            continue
        ids = raw.get("payment_ids", [])
        if (not isinstance(ids, list) or len(ids) > MAX_IDS
                or not all(isinstance(x, str) and 0 < len(x) <= 64 for x in ids)):
            violations.append({"field": f"{where}.payment_ids",
                               "description": f"must be a list of at most {MAX_IDS} payment ids"})
            ids = []
        fraction = raw.get("fraction", 0.0)
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
            violations.append({"field": f"{where}.fraction", "description": "must be a number between 0 and 1"})
            fraction = 0.0
        reason = raw.get("reason", "AC04" if mode == "return" else "rejected_by_bank")
        pattern = ISO_REASON_RE if mode == "return" else REASON_RE
        if mode in ("reject", "return") and (not isinstance(reason, str) or not pattern.fullmatch(reason)):
            violations.append({"field": f"{where}.reason", "description":
                               "must be an ISO 20022 reason code such as AC04" if mode == "return"
                               else "must be lower-case letters, digits or '_' (at most 64)"})
            reason = ""
        rules.append(Rule(
            mode=mode, payment_ids=frozenset(ids), fraction=float(fraction),
            reason=reason if mode in ("reject", "return") else "",
            delay_ms=_int(raw, "delay_ms", 1000, 0, MAX_DELAY_MS, where, violations),
            hold_ms=_int(raw, "hold_ms", 30_000, 0, MAX_HOLD_MS, where, violations),
            after_days=_int(raw, "after_days", 1, 1, MAX_RETURN_DAYS, where, violations),
        ))
    if violations:
        return None, violations
    return FaultPlan(seed, tuple(rules)), []
