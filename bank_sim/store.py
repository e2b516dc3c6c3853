"""Durable payment store of the bank simulator (stdlib ``sqlite3``, WAL mode).

One connection is opened per store and every access is serialised by a
``threading.Lock``; the async app calls the methods through
``asyncio.to_thread`` so the event loop never blocks on disk I/O.  Statement
files are streamed from a connection of their own (WAL readers do not block
the writer), so a day of a million lines never holds the lock.

Idempotency: ``payment_id`` is the primary key.  A submission stores a keyed
digest (HMAC-SHA256 with a per-database random key) of the normalised request
body next to the payment, so a replay can be told apart from a conflicting
reuse of the same ``payment_id`` without keeping the payee's full resident ID
number (only its masked form is stored).  A batch is recorded the same way
under its ``batch_id`` (a reused id with other content is refused).

Refused duplicates: every submission that reuses a known ``payment_id`` -- an identical
replay (answered with the stored record) or a conflicting body (refused) -- is recorded in
``duplicate_submissions`` (payment id, outcome, instant), in the same transaction that looked
the payment up, so the bank's own records show how often a client sent a payment again.

Registries: ``cards`` (social security cards: keyed digest of the holder's resident ID
number, its masked form, card number, name, status) and ``accounts`` (institution accounts:
number, name, bank code, status).  In the default ``open`` mode a payee the registry does not
hold is paid (any valid ID with any name is an active card, any account is open); in ``strict``
mode it fails with ``card_not_found`` / ``account_not_found``.  A registered card or account
that does not match fails the payment with the bank's reason (see :func:`registry_failure`).

Settlement is computed lazily: the outcome ("settled" or "failed"), the
settlement instant (``accepted_at + settle delay``) and any later return are
fixed when the payment is accepted, and every read first flips the payments
whose instant has passed from "accepted" to their outcome.  So a payment
accepted before a restart is shown settled after it, with the instant it
became due.  Tables and columns added since the first version are created on
open (``CREATE TABLE IF NOT EXISTS`` / ``ALTER TABLE ADD COLUMN``): older files
keep working.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

CHANNELS = ("ssc_card", "bank_transfer")
FAILING_NAME_PREFIX = "FAIL"
FAILURE_ACCOUNT_CLOSED = "account_closed"

CARD_STATUSES = ("active", "frozen", "cancelled")
ACCOUNT_STATUSES = ("open", "closed")
REGISTRY_MODES = ("open", "strict")

# The bank's reasons for a failed payment (after acceptance; no money moves).
FAILURE_REASONS = (
    "card_frozen",
    "card_cancelled",
    "name_mismatch",
    "card_number_mismatch",
    "card_not_found",
    "account_closed",
    "account_name_mismatch",
    "bank_code_mismatch",
    "account_not_found",
)

_SCHEMA_VERSION = 3  # 2: duplicate_submissions; 3: batches, registries, delays/returns/duplicates
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
CREATE TABLE IF NOT EXISTS batches (
    batch_id      TEXT PRIMARY KEY,
    digest        TEXT NOT NULL,
    count         INTEGER NOT NULL,
    sum_fen       INTEGER NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cards (
    id_digest     TEXT PRIMARY KEY,   -- HMAC of the resident ID number; never the number
    id_masked     TEXT NOT NULL,
    card_number   TEXT NOT NULL,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'frozen', 'cancelled'))
);
CREATE TABLE IF NOT EXISTS accounts (
    account_number TEXT PRIMARY KEY,
    account_name   TEXT NOT NULL,
    bank_code      TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'closed'))
);
"""

# Columns added to ``payments`` in schema 3 (ALTER TABLE on older files).
_ADDED_COLUMNS = (
    ("batch_id", "TEXT"),
    ("duplicate", "INTEGER NOT NULL DEFAULT 0"),  # fault: answered twice
    ("double_booking", "INTEGER NOT NULL DEFAULT 0"),  # fault: booked (listed on the statement) twice
    ("return_due_at", "TEXT"),  # UTC instant a settled payment comes back
    ("return_day", "TEXT"),  # Asia/Shanghai day of return_due_at
    ("return_reason", "TEXT"),  # ISO 20022 return reason code
)


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


def shanghai_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A validated submission.  ``payee_account`` is ``None`` for ssc_card;
    ``payee_card_number`` (ssc_card) and ``payee_bank_code`` (bank_transfer) are optional."""

    payment_id: str
    channel: str
    payee_id_number: str
    payee_name: str
    payee_account: str | None
    amount_fen: int
    fund_source: str
    memo: str
    payee_card_number: str | None = None
    payee_bank_code: str | None = None

    def canonical_json(self) -> bytes:
        body: dict[str, Any] = {
            "payment_id": self.payment_id,
            "channel": self.channel,
            "payee_id_number": self.payee_id_number,
            "payee_name": self.payee_name,
            "payee_account": self.payee_account,
            "amount_fen": self.amount_fen,
            "fund_source": self.fund_source,
            "memo": self.memo,
        }
        # Only when given: payments stored before these fields existed keep their digest.
        if self.payee_card_number is not None:
            body["payee_card_number"] = self.payee_card_number
        if self.payee_bank_code is not None:
            body["payee_bank_code"] = self.payee_bank_code
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def __repr__(self) -> str:  # never leak the ID number through repr()
        return (
            f"PaymentRequest(payment_id={self.payment_id!r}, channel={self.channel!r}, "
            f"payee_id_number={mask_id_number(self.payee_id_number)!r}, "
            f"amount_fen={self.amount_fen!r}, fund_source={self.fund_source!r})"
        )


@dataclass(frozen=True, slots=True)
class Effects:
    """What fault injection does to one new payment (nothing by default)."""

    extra_delay: timedelta = timedelta(0)
    duplicate: bool = False
    return_after_days: int | None = None
    return_reason: str | None = None
    fail_reason: str | None = None  # e.g. close_accounts
    double_booking: bool = False  # the bank's own error: the payout is booked twice


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
    returned_at: datetime | None = None  # only once the return has taken effect
    return_reason: str | None = None
    duplicate: bool = False

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
            "returned_at": self.returned_at.isoformat() if self.returned_at else None,
            "return_reason": self.return_reason if self.returned_at else None,
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


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One booked line of a fund account's statement: a payout (DBIT) or a return (CRDT)."""

    booking_date: date
    value_date: date
    bank_ref: str
    payment_id: str
    fund_source: str
    channel: str
    credit_debit: str  # "DBIT" | "CRDT"
    amount_fen: int
    return_reason: str | None


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """Per fund account and day: the opening balance (net of everything booked before the
    day, since the simulator opened the account) and the day's credits and debits."""

    fund_source: str
    opening_fen: int  # signed: credits - debits
    credit_count: int = 0
    credit_fen: int = 0
    debit_count: int = 0
    debit_fen: int = 0

    @property
    def closing_fen(self) -> int:
        return self.opening_fen + self.credit_fen - self.debit_fen


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


class BatchConflict(Exception):
    """The batch id was already used for a batch with other content; nothing was stored."""


@dataclass(frozen=True, slots=True)
class CardEntry:
    id_number: str
    card_number: str
    name: str
    status: str

    def __repr__(self) -> str:  # never leak the ID number through repr()
        return f"CardEntry(id_number={mask_id_number(self.id_number)!r}, status={self.status!r})"


@dataclass(frozen=True, slots=True)
class AccountEntry:
    account_number: str
    account_name: str
    bank_code: str
    status: str


@dataclass
class BatchOutcome:
    """Per submitted request, in order: (outcome, record)."""

    results: list[tuple[SubmitOutcome, PaymentRecord]] = field(default_factory=list)


_COLUMNS = (
    "payment_id, channel, amount_fen, fund_source, payee_name, payee_id_masked, "
    "status, bank_ref, failure_reason, accepted_at, due_at, duplicate, return_due_at, return_reason"
)


def _record(row: sqlite3.Row, now: datetime) -> PaymentRecord:
    status = row["status"]
    returned_at = None
    if row["return_due_at"] is not None:
        moment = datetime.fromisoformat(row["return_due_at"])
        returned_at = moment if moment <= now else None
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
        returned_at=returned_at,
        return_reason=row["return_reason"],
        duplicate=bool(row["duplicate"]),
    )


def registry_failure(request: PaymentRequest, card: sqlite3.Row | None, account: sqlite3.Row | None,
                     strict: bool) -> str | None:
    """The bank's reason a payee does not match its registry entry, or None.

    ssc_card, checked in this order: a card number given that is not the card's
    (``card_number_mismatch``), a name that is not the card holder's (``name_mismatch``), a card
    ``frozen`` or ``cancelled`` (``card_frozen`` / ``card_cancelled``).  bank_transfer: a bank
    code that is not the account's (``bank_code_mismatch``; a registered account needs it), a
    name that is not the account's (``account_name_mismatch``), a ``closed`` account
    (``account_closed``).  Unregistered: paid in ``open`` mode, else ``card_not_found`` /
    ``account_not_found``.
    """
    if request.channel == "ssc_card":
        if card is None:
            return "card_not_found" if strict else None
        if request.payee_card_number and request.payee_card_number != card["card_number"]:
            return "card_number_mismatch"
        if request.payee_name != card["name"]:
            return "name_mismatch"
        if card["status"] == "frozen":
            return "card_frozen"
        if card["status"] == "cancelled":
            return "card_cancelled"
        return None
    if account is None:
        return "account_not_found" if strict else None
    if (request.payee_bank_code or "") != account["bank_code"]:
        return "bank_code_mismatch"
    if request.payee_name != account["account_name"]:
        return "account_name_mismatch"
    if account["status"] == "closed":
        return "account_closed"
    return None


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
        present = {row["name"] for row in self._conn.execute("PRAGMA table_info(payments)")}
        for name, decl in _ADDED_COLUMNS:
            if name not in present:
                self._conn.execute(f"ALTER TABLE payments ADD COLUMN {name} {decl}")
        self._conn.execute("CREATE INDEX IF NOT EXISTS payments_return_day ON payments (return_day)")
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

    def digest_bytes(self, data: bytes) -> str:
        """Keyed digest of anything (a batch's content)."""
        return hmac.new(self._digest_key, b"batch:" + data, hashlib.sha256).hexdigest()

    def _id_digest(self, id_number: str) -> str:
        return hmac.new(self._digest_key, b"rid:" + id_number.encode(), hashlib.sha256).hexdigest()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- registries ---------------------------------------------------------

    def registry_mode(self) -> str:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'registry_mode'").fetchone()
        return "open" if row is None else row["value"]

    def update_registry(self, mode: str | None, cards: list[CardEntry], accounts: list[AccountEntry]) -> None:
        """Set the mode and add or replace cards (by resident ID) and accounts (by number)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if mode is not None:
                    self._conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('registry_mode', ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (mode,),
                    )
                self._conn.executemany(
                    "INSERT OR REPLACE INTO cards (id_digest, id_masked, card_number, name, status) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(self._id_digest(c.id_number), mask_id_number(c.id_number), c.card_number, c.name, c.status)
                     for c in cards],
                )
                self._conn.executemany(
                    "INSERT OR REPLACE INTO accounts (account_number, account_name, bank_code, status) "
                    "VALUES (?, ?, ?, ?)",
                    [(a.account_number, a.account_name, a.bank_code, a.status) for a in accounts],
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def registry_counts(self) -> dict[str, Any]:
        with self._lock:
            cards = self._conn.execute("SELECT COUNT(*) FROM cards").fetchone()[0]
            accounts = self._conn.execute("SELECT COUNT(*) FROM accounts").fetchone()[0]
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'registry_mode'").fetchone()
        return {"mode": "open" if row is None else row["value"], "cards": cards, "accounts": accounts}

    def _registry_failure(self, request: PaymentRequest, strict: bool) -> str | None:
        card = account = None
        if request.channel == "ssc_card":
            card = self._conn.execute(
                "SELECT card_number, name, status FROM cards WHERE id_digest = ?",
                (self._id_digest(request.payee_id_number),),
            ).fetchone()
        else:
            account = self._conn.execute(
                "SELECT account_name, bank_code, status FROM accounts WHERE account_number = ?",
                (request.payee_account,),
            ).fetchone()
        return registry_failure(request, card, account, strict)

    # -- writes -----------------------------------------------------------

    def submit(self, request: PaymentRequest, fail: bool = False) -> tuple[SubmitOutcome, PaymentRecord]:
        """Store a new payment, or recognise a replay / conflicting reuse.

        On CONFLICT the returned record is the stored (unchanged) one. ``fail`` makes a new
        payment end "failed" (account closed) whatever its payee's name.
        """
        effects = Effects(fail_reason=FAILURE_ACCOUNT_CLOSED if fail else None)
        return self.submit_batch(None, [(request, effects)]).results[0]

    def submit_batch(
        self,
        batch: tuple[str, str, int, int] | None,
        requests: list[tuple[PaymentRequest, Effects]],
    ) -> BatchOutcome:
        """Store a batch's valid requests in one transaction; a result per request, in order.

        ``batch`` is (batch_id, digest, count, sum_fen) or None (a single payment).  A batch id
        already stored with another digest raises :class:`BatchConflict` and stores nothing.
        """
        digests = [self._digest(request) for request, _ in requests]
        outcome = BatchOutcome()
        with self._lock:
            now = self._clock()
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'registry_mode'").fetchone()
            strict = row is not None and row["value"] == "strict"
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._settle_due(now)
                if batch is not None:
                    batch_id, batch_digest, count, sum_fen = batch
                    known = self._conn.execute(
                        "SELECT digest FROM batches WHERE batch_id = ?", (batch_id,)
                    ).fetchone()
                    if known is not None and not hmac.compare_digest(known["digest"], batch_digest):
                        raise BatchConflict(batch_id)
                    if known is None:
                        self._conn.execute(
                            "INSERT INTO batches (batch_id, digest, count, sum_fen, received_at) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (batch_id, batch_digest, count, sum_fen, _iso(now)),
                        )
                for (request, effects), digest in zip(requests, digests, strict=True):
                    outcome.results.append(
                        self._submit_one(request, effects, digest, now, strict,
                                         None if batch is None else batch[0])
                    )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return outcome

    def _submit_one(self, request: PaymentRequest, effects: Effects, digest: str, now: datetime,
                    strict: bool, batch_id: str | None) -> tuple[SubmitOutcome, PaymentRecord]:
        row = self._conn.execute(
            f"SELECT request_digest, {_COLUMNS} FROM payments WHERE payment_id = ?",
            (request.payment_id,),
        ).fetchone()
        if row is not None:
            same = hmac.compare_digest(row["request_digest"], digest)
            outcome = SubmitOutcome.REPLAYED if same else SubmitOutcome.CONFLICT
            self._conn.execute(
                "INSERT INTO duplicate_submissions (payment_id, outcome, submitted_at) VALUES (?, ?, ?)",
                (request.payment_id, outcome.value, _iso(now)),
            )
            return outcome, _record(row, now)

        failure = effects.fail_reason
        if failure is None and request.payee_name.startswith(FAILING_NAME_PREFIX):
            failure = FAILURE_ACCOUNT_CLOSED
        if failure is None:
            failure = self._registry_failure(request, strict)
        due_at = now + self._settle_delay + effects.extra_delay
        status = "accepted"
        if due_at <= now:  # zero delay: the outcome is immediate
            status = "failed" if failure else "settled"
        return_due_at = return_day = return_reason = None
        if failure is None and effects.return_after_days:
            returned = due_at + timedelta(days=effects.return_after_days)
            return_due_at, return_day = _iso(returned), shanghai_day(returned).isoformat()
            return_reason = effects.return_reason
        self._conn.execute(
            "INSERT INTO payments (payment_id, request_digest, channel, amount_fen, "
            "fund_source, payee_name, payee_id_masked, bank_ref, status, outcome, "
            "failure_reason, accepted_at, due_at, settle_day, batch_id, duplicate, double_booking, "
            "return_due_at, return_day, return_reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                "failed" if failure else "settled",
                failure,
                _iso(now),
                _iso(due_at),
                shanghai_day(due_at).isoformat(),
                batch_id,
                int(effects.duplicate),
                int(effects.double_booking),
                return_due_at,
                return_day,
                return_reason,
            ),
        )
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM payments WHERE payment_id = ?", (request.payment_id,)
        ).fetchone()
        return SubmitOutcome.CREATED, _record(row, now)

    def _settle_due(self, now: datetime) -> None:
        self._conn.execute(
            "UPDATE payments SET status = outcome WHERE status = 'accepted' AND due_at <= ?",
            (_iso(now),),
        )

    # -- reads ------------------------------------------------------------

    def get(self, payment_id: str) -> PaymentRecord | None:
        with self._lock:
            now = self._clock()
            self._settle_due(now)
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM payments WHERE payment_id = ?", (payment_id,)
            ).fetchone()
        return None if row is None else _record(row, now)

    def statement(self, day: date) -> list[PaymentRecord]:
        """Settled and failed payments whose outcome fell on ``day`` (Asia/Shanghai)."""
        with self._lock:
            now = self._clock()
            self._settle_due(now)
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM payments "
                "WHERE settle_day = ? AND status IN ('settled', 'failed') "
                "ORDER BY due_at, payment_id",
                (day.isoformat(),),
            ).fetchall()
        return [_record(row, now) for row in rows]

    # The booked lines of a day: payouts that settled on it (DBIT) and settled payments that
    # came back on it (CRDT).  Failed payments moved no money and are not booked.
    _BOOKED = (
        "SELECT fund_source, due_at AS at, payment_id, 'DBIT' AS cd, bank_ref, channel, amount_fen, "
        "NULL AS reason, double_booking AS twice FROM payments "
        "WHERE outcome = 'settled' AND settle_day {op} ? AND due_at <= ? {fund} "
        "UNION ALL "
        "SELECT fund_source, return_due_at AS at, payment_id, 'CRDT' AS cd, bank_ref || 'R' AS bank_ref, "
        "channel, amount_fen, return_reason AS reason, double_booking AS twice FROM payments "
        "WHERE return_day {op} ? AND return_due_at <= ? {fund}"
    )

    def _reader(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        conn.row_factory = sqlite3.Row
        return conn

    def _booked_query(self, op: str, day: date, fund_source: str | None, as_of: datetime) -> tuple[str, tuple]:
        now = _iso(as_of)
        fund = "" if fund_source is None else "AND fund_source = ?"
        one = (day.isoformat(), now) + (() if fund_source is None else (fund_source,))
        return self._BOOKED.format(op=op, fund=fund), one + one

    def now(self) -> datetime:
        return self._clock()

    def account_summaries(self, day: date, fund_source: str | None = None,
                          as_of: datetime | None = None) -> list[AccountSummary]:
        """One summary per fund account with anything booked up to ``day`` (as known at
        ``as_of``, default now), by fund source."""
        as_of = as_of or self._clock()
        before_sql, before_args = self._booked_query("<", day, fund_source, as_of)
        on_sql, on_args = self._booked_query("=", day, fund_source, as_of)
        conn = self._reader()
        try:
            opening = {
                r["fund_source"]: r["net"]
                for r in conn.execute(
                    "SELECT fund_source, SUM(CASE cd WHEN 'CRDT' THEN amount_fen ELSE -amount_fen END "
                    f"* (1 + twice)) AS net FROM ({before_sql}) GROUP BY fund_source",
                    before_args,
                )
            }
            today = {
                r["fund_source"]: r
                for r in conn.execute(
                    "SELECT fund_source, "
                    "SUM(CASE cd WHEN 'CRDT' THEN 1 + twice ELSE 0 END) AS cc, "
                    "SUM(CASE cd WHEN 'CRDT' THEN amount_fen * (1 + twice) ELSE 0 END) AS cs, "
                    "SUM(CASE cd WHEN 'DBIT' THEN 1 + twice ELSE 0 END) AS dc, "
                    "SUM(CASE cd WHEN 'DBIT' THEN amount_fen * (1 + twice) ELSE 0 END) AS ds "
                    f"FROM ({on_sql}) GROUP BY fund_source",
                    on_args,
                )
            }
        finally:
            conn.close()
        summaries = []
        for fund in sorted(set(opening) | set(today)):
            r = today.get(fund)
            summaries.append(AccountSummary(
                fund, opening.get(fund, 0),
                *((r["cc"], r["cs"], r["dc"], r["ds"]) if r is not None else (0, 0, 0, 0)),
            ))
        return summaries

    def iter_booked(self, day: date, fund_source: str | None = None, as_of: datetime | None = None,
                    chunk: int = 5000) -> Iterator[StatementEntry]:
        """The day's booked lines (as known at ``as_of``, default now), by fund source, instant,
        payment id; streamed from a connection of its own.  A payment booked twice (fault
        ``double_booking``) is listed twice."""
        sql, args = self._booked_query("=", day, fund_source, as_of or self._clock())
        conn = self._reader()
        try:
            cursor = conn.execute(f"SELECT * FROM ({sql}) ORDER BY fund_source, at, payment_id, cd", args)
            while rows := cursor.fetchmany(chunk):
                for r in rows:
                    booked = shanghai_day(datetime.fromisoformat(r["at"]))
                    entry = StatementEntry(booked, booked, r["bank_ref"], r["payment_id"], r["fund_source"],
                                           r["channel"], r["cd"], r["amount_fen"], r["reason"])
                    yield entry
                    if r["twice"]:
                        yield entry
        finally:
            conn.close()

    def duplicates(self) -> list[DuplicateSummary]:
        """Every payment id submitted more than once, in the order of its first repeat."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT payment_id, "
                "SUM(outcome = 'replayed') AS replayed, SUM(outcome = 'conflict') AS conflicting "
                "FROM duplicate_submissions GROUP BY payment_id ORDER BY MIN(id)"
            ).fetchall()
        return [DuplicateSummary(r["payment_id"], r["replayed"], r["conflicting"]) for r in rows]
