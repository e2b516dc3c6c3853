"""Durable payment store of the bank simulator (stdlib ``sqlite3``, WAL mode).

One connection is opened per store and every access is serialised by a
``threading.Lock``; the async app calls the methods through
``asyncio.to_thread`` so the event loop never blocks on disk I/O.

Idempotency: ``payment_id`` is the primary key.  A submission stores a keyed
digest (HMAC-SHA256 with a per-database random key) of the normalised request
body next to the payment, so a replay can be told apart from a conflicting
reuse of the same ``payment_id`` without keeping the payee's full resident ID
number (only its masked form is stored).

Refused duplicates: every submission that reuses a known ``payment_id`` -- an identical
replay (answered with the stored record) or a conflicting body (refused) -- is recorded in
``duplicate_submissions`` (payment id, outcome, instant), in the same transaction that looked
the payment up, so the bank's own records show how often a client sent a payment again.
The table is created with ``CREATE TABLE IF NOT EXISTS``: files from before it keep working.

Settlement is computed lazily: the outcome ("settled" or "failed") and the
settlement instant (``accepted_at + settle delay``) are fixed when the payment
is accepted, and every read first flips the payments whose instant has passed
from "accepted" to their outcome.  So a payment accepted before a restart is
shown settled after it, with the instant it became due.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

CHANNELS = ("ssc_card", "bank_transfer")
FAILING_NAME_PREFIX = "FAIL"
FAILURE_ACCOUNT_CLOSED = "account_closed"

_SCHEMA_VERSION = 2  # 2: duplicate_submissions
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    payment_id      TEXT PRIMARY KEY,
    request_digest  TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('ssc_card', 'bank_transfer')),
    amount_fen      INTEGER NOT NULL CHECK (amount_fen > 0),
    fund_source     TEXT NOT NULL,
    payee_name      TEXT NOT NULL,
    payee_id_masked TEXT NOT NULL,
    bank_ref        TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('accepted', 'settled', 'failed')),
    outcome         TEXT NOT NULL CHECK (outcome IN ('settled', 'failed')),
    failure_reason  TEXT,
    accepted_at     TEXT NOT NULL,  -- UTC, ISO 8601 with offset, microseconds
    due_at          TEXT NOT NULL,  -- UTC instant the outcome takes effect
    settle_day      TEXT NOT NULL   -- Asia/Shanghai calendar day of due_at
);
CREATE INDEX IF NOT EXISTS payments_status_due ON payments (status, due_at);
CREATE INDEX IF NOT EXISTS payments_settle_day ON payments (settle_day);
CREATE TABLE IF NOT EXISTS duplicate_submissions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id    TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('replayed', 'conflict')),
    submitted_at  TEXT NOT NULL   -- UTC, ISO 8601 with offset, microseconds
);
CREATE INDEX IF NOT EXISTS duplicate_submissions_payment ON duplicate_submissions (payment_id);
"""


def mask_id_number(id_number: str) -> str:
    """First 6 characters + 8 asterisks + last 4; short values fully masked."""
    if len(id_number) < 10:
        return "*" * 8
    return f"{id_number[:6]}********{id_number[-4:]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    # Fixed width so that text comparison in SQL orders instants correctly.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A validated submission.  ``payee_account`` is ``None`` for ssc_card."""

    payment_id: str
    channel: str
    payee_id_number: str
    payee_name: str
    payee_account: str | None
    amount_fen: int
    fund_source: str
    memo: str

    def canonical_json(self) -> bytes:
        body = {
            "payment_id": self.payment_id,
            "channel": self.channel,
            "payee_id_number": self.payee_id_number,
            "payee_name": self.payee_name,
            "payee_account": self.payee_account,
            "amount_fen": self.amount_fen,
            "fund_source": self.fund_source,
            "memo": self.memo,
        }
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def __repr__(self) -> str:  # never leak the ID number through repr()
        return (
            f"PaymentRequest(payment_id={self.payment_id!r}, channel={self.channel!r}, "
            f"payee_id_number={mask_id_number(self.payee_id_number)!r}, "
            f"amount_fen={self.amount_fen!r}, fund_source={self.fund_source!r})"
        )


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    payment_id: str
    channel: str
    amount_fen: int
    fund_source: str
    payee_name: str
    payee_id_masked: str
    status: str
    bank_ref: str
    failure_reason: str | None
    accepted_at: datetime
    settled_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "payment_id": self.payment_id,
            "channel": self.channel,
            "amount_fen": self.amount_fen,
            "fund_source": self.fund_source,
            "payee_name": self.payee_name,
            "payee_id_masked": self.payee_id_masked,
            "status": self.status,
            "bank_ref": self.bank_ref,
            # Failure reason only once the failure has taken effect.
            "failure_reason": self.failure_reason if self.status == "failed" else None,
            "accepted_at": self.accepted_at.isoformat(),
            "settled_at": self.settled_at.isoformat() if self.settled_at else None,
        }

    def to_statement_entry(self) -> dict[str, Any]:
        assert self.settled_at is not None
        return {
            "payment_id": self.payment_id,
            "bank_ref": self.bank_ref,
            "channel": self.channel,
            "amount_fen": self.amount_fen,
            "fund_source": self.fund_source,
            "status": self.status,
            "settled_at": self.settled_at.isoformat(),
        }


class SubmitOutcome(enum.Enum):
    CREATED = "created"
    REPLAYED = "replayed"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class DuplicateSummary:
    """How often one payment id was submitted again: identical replays and conflicting reuses."""

    payment_id: str
    replayed: int
    conflicting: int

    def to_json(self) -> dict[str, Any]:
        return {"payment_id": self.payment_id, "replayed": self.replayed, "conflicting": self.conflicting}


_COLUMNS = (
    "payment_id, channel, amount_fen, fund_source, payee_name, payee_id_masked, "
    "status, bank_ref, failure_reason, accepted_at, due_at"
)


def _record(row: sqlite3.Row) -> PaymentRecord:
    status = row["status"]
    return PaymentRecord(
        payment_id=row["payment_id"],
        channel=row["channel"],
        amount_fen=row["amount_fen"],
        fund_source=row["fund_source"],
        payee_name=row["payee_name"],
        payee_id_masked=row["payee_id_masked"],
        status=status,
        bank_ref=row["bank_ref"],
        failure_reason=row["failure_reason"],
        accepted_at=datetime.fromisoformat(row["accepted_at"]),
        settled_at=None if status == "accepted" else datetime.fromisoformat(row["due_at"]),
    )


class PaymentStore:
    """Thread-safe, durable store.  All methods are blocking."""

    def __init__(
        self,
        path: Path | str,
        settle_delay: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._settle_delay = settle_delay
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # A bank must not lose an acknowledged payment, even on power loss.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        self._conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        self._digest_key = self._load_digest_key()

    def _load_digest_key(self) -> bytes:
        self._conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('digest_key', ?)",
            (secrets.token_hex(32),),
        )
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'digest_key'").fetchone()
        return bytes.fromhex(row["value"])

    def _digest(self, request: PaymentRequest) -> str:
        return hmac.new(self._digest_key, request.canonical_json(), hashlib.sha256).hexdigest()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- writes -----------------------------------------------------------

    def submit(self, request: PaymentRequest, fail: bool = False) -> tuple[SubmitOutcome, PaymentRecord]:
        """Store a new payment, or recognise a replay / conflicting reuse.

        On CONFLICT the returned record is the stored (unchanged) one. ``fail`` makes a new
        payment end "failed" (account closed) whatever its payee's name.
        """
        digest = self._digest(request)
        with self._lock:
            now = self._clock()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._settle_due(now)
                row = self._conn.execute(
                    f"SELECT request_digest, {_COLUMNS} FROM payments WHERE payment_id = ?",
                    (request.payment_id,),
                ).fetchone()
                if row is not None:
                    same = hmac.compare_digest(row["request_digest"], digest)
                    outcome = SubmitOutcome.REPLAYED if same else SubmitOutcome.CONFLICT
                    self._conn.execute(
                        "INSERT INTO duplicate_submissions (payment_id, outcome, submitted_at) "
                        "VALUES (?, ?, ?)",
                        (request.payment_id, outcome.value, _iso(now)),
                    )
                    self._conn.execute("COMMIT")
                    return outcome, _record(row)

                failing = fail or request.payee_name.startswith(FAILING_NAME_PREFIX)
                due_at = now + self._settle_delay
                status = "accepted"
                if due_at <= now:  # zero delay: the outcome is immediate
                    status = "failed" if failing else "settled"
                self._conn.execute(
                    "INSERT INTO payments (payment_id, request_digest, channel, amount_fen, "
                    "fund_source, payee_name, payee_id_masked, bank_ref, status, outcome, "
                    "failure_reason, accepted_at, due_at, settle_day) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        request.payment_id,
                        digest,
                        request.channel,
                        request.amount_fen,
                        request.fund_source,
                        request.payee_name,
                        mask_id_number(request.payee_id_number),
                        "BSIM" + uuid.uuid4().hex[:16].upper(),
                        status,
                        "failed" if failing else "settled",
                        FAILURE_ACCOUNT_CLOSED if failing else None,
                        _iso(now),
                        _iso(due_at),
                        due_at.astimezone(SHANGHAI).date().isoformat(),
                    ),
                )
                row = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM payments WHERE payment_id = ?", (request.payment_id,)
                ).fetchone()
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return SubmitOutcome.CREATED, _record(row)

    def _settle_due(self, now: datetime) -> None:
        self._conn.execute(
            "UPDATE payments SET status = outcome WHERE status = 'accepted' AND due_at <= ?",
            (_iso(now),),
        )

    # -- reads ------------------------------------------------------------

    def get(self, payment_id: str) -> PaymentRecord | None:
        with self._lock:
            self._settle_due(self._clock())
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM payments WHERE payment_id = ?", (payment_id,)
            ).fetchone()
        return None if row is None else _record(row)

    def statement(self, day: date) -> list[PaymentRecord]:
        """Settled and failed payments whose outcome fell on ``day`` (Asia/Shanghai)."""
        with self._lock:
            self._settle_due(self._clock())
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM payments "
                "WHERE settle_day = ? AND status IN ('settled', 'failed') "
                "ORDER BY due_at, payment_id",
                (day.isoformat(),),
            ).fetchall()
        return [_record(row) for row in rows]

    def duplicates(self) -> list[DuplicateSummary]:
        """Every payment id submitted more than once, in the order of its first repeat."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT payment_id, "
                "SUM(outcome = 'replayed') AS replayed, SUM(outcome = 'conflict') AS conflicting "
                "FROM duplicate_submissions GROUP BY payment_id ORDER BY MIN(id)"
            ).fetchall()
        return [DuplicateSummary(r["payment_id"], r["replayed"], r["conflicting"]) for r in rows]
