"""The ledger's core: accounts, transfers, and the pure function that applies a batch (F1-F3, X2).

Modelled on TigerBeetle's two primitives. An ``Account`` belongs to one ledger (here: one fund
source, F1) and holds four running totals in fen: pending and posted debits and credits. A
``Transfer`` moves an amount from a debit account to a credit account of the SAME ledger (F2:
a fund never pays for another). Transfers are immutable; nothing is updated or deleted:
corrections and recoveries are new, reversing transfers (X2).

Two-phase transfers: a ``PENDING`` transfer reserves the amount (it counts against the
account's limits at once), a later ``POST_PENDING_TRANSFER`` posts it (all or part of it, the
rest released) and a ``VOID_PENDING_TRANSFER`` releases it. ``LINKED`` chains transfers that
succeed or fail together: the chain runs up to and including the first transfer without the flag.

``apply_transfers`` is the one place these rules live. It is pure: the repository loads what it
needs (the accounts touched, transfers that already have the ids, the pending transfers posted or
voided), calls it, and writes back what it returns, in one database transaction for the whole
batch. Every transfer gets a result; a transfer whose id already exists with the same fields gets
``EXISTS`` (a retry: nothing happens twice), with different fields ``EXISTS_WITH_DIFFERENT_FIELDS``.
Failed transfers are not stored, so a retry after the cause is fixed (e.g. funds allocated) can
succeed.

A fund's accounts (``AccountRole``) and the flow of a payout through them:

    allocation     appropriation -> available           posted
    commitment     available     -> payables            PENDING: approval reserves the amount (F2)
    submission     post of the commitment, linked with payables -> clearing (in transit at the bank)
    settlement     clearing      -> disbursed           when the bank says settled (status or statement)
    release        void of the commitment before submission; clearing -> available after it (failed)
    return         disbursed -> returned, returned -> available (linked; the bank sent it back)
    recovery       disbursed -> recovered, recovered -> available (linked; X2 recovery)

``available`` and ``payables`` may never be overdrawn (debits including pending must not exceed
credits): no payout can be committed without budget, and nothing leaves ``payables`` that was not
owed. The service layer builds these transfers; this module only enforces the arithmetic.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from skillpay.ids import derived_id

# One bound for every amount and running total: far below int64, far above any budget.
MAX_AMOUNT_FEN = 10**14
MAX_TOTAL_FEN = 10**16
MAX_ID_LENGTH = 64
MAX_USER_DATA_LENGTH = 100


class AccountRole(enum.Enum):
    """F1: the accounts every fund source has."""

    APPROPRIATION = "appropriation"  # where allocations come from (debit-normal)
    AVAILABLE = "available"  # what the fund can still commit
    PAYABLES = "payables"  # owed to payees; its pending credits are the fund's commitments
    CLEARING = "clearing"  # handed to the bank, not yet on its statement (in transit)
    DISBURSED = "disbursed"  # paid out, confirmed by the bank
    RETURNED = "returned"  # paid, then returned by the bank
    RECOVERED = "recovered"  # paid, then recovered from the payee (X2)


class AccountFlags(enum.IntFlag):
    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


# F2: what may never go below zero.
ROLE_FLAGS = {
    AccountRole.AVAILABLE: AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountRole.PAYABLES: AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountRole.CLEARING: AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountRole.DISBURSED: AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
}


class TransferFlags(enum.IntFlag):
    NONE = 0
    LINKED = 1
    PENDING = 2
    POST_PENDING_TRANSFER = 4
    VOID_PENDING_TRANSFER = 8


# The audit trail's name for a transfer, and the state its record names (a transfer never changes
# once stored: its one record goes from "" to what it did).
AUDIT_TYPE = "transfer"


def audit_state(flags: int) -> str:
    """What a created transfer did: "posted" (a plain transfer), "pending" (a reservation),
    "posted_pending" / "voided_pending" (the post or void of a pending transfer)."""
    flags = int(flags)
    if flags & TransferFlags.PENDING:
        return "pending"
    if flags & TransferFlags.POST_PENDING_TRANSFER:
        return "posted_pending"
    if flags & TransferFlags.VOID_PENDING_TRANSFER:
        return "voided_pending"
    return "posted"


class TransferCode(enum.IntEnum):
    """Why money moved; reports group by it."""

    ALLOCATION = 1
    COMMITMENT = 2
    SUBMISSION = 3
    SETTLEMENT = 4
    RELEASE = 5
    RETURN = 6
    RECOVERY = 7
    CORRECTION = 8


class TransferResult(enum.Enum):
    OK = "ok"
    EXISTS = "exists"  # the same transfer again: nothing done twice
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    ID_INVALID = "id_invalid"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    AMOUNT_INVALID = "amount_invalid"
    USER_DATA_TOO_LONG = "user_data_too_long"
    PENDING_ID_MUST_BE_EMPTY = "pending_id_must_be_empty"
    PENDING_ID_REQUIRED = "pending_id_required"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER = "accounts_must_have_the_same_ledger"  # F2
    TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS = "transfer_must_have_the_same_ledger_as_accounts"  # F2
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS = "pending_transfer_has_different_accounts"
    PENDING_TRANSFER_HAS_DIFFERENT_LEDGER = "pending_transfer_has_different_ledger"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"
    EXCEEDS_CREDITS = "exceeds_credits"  # F2: would overdraw a guarded account
    EXCEEDS_DEBITS = "exceeds_debits"
    OVERFLOWS = "overflows"

    @property
    def succeeded(self) -> bool:
        return self in (TransferResult.OK, TransferResult.EXISTS)


class PendingStatus(enum.Enum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


def account_id(ledger: str, role: AccountRole) -> str:
    return f"{ledger}:{role.value}"


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    ledger: str  # the fund source code (F1)
    role: AccountRole
    flags: AccountFlags = AccountFlags.NONE
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    @classmethod
    def for_fund(cls, ledger: str, role: AccountRole) -> "Account":
        return cls(account_id(ledger, role), ledger, role, ROLE_FLAGS.get(role, AccountFlags.NONE))

    @property
    def credit_balance(self) -> int:
        """Posted credits less posted debits: what a credit-normal account holds."""
        return self.credits_posted - self.debits_posted

    @property
    def debit_balance(self) -> int:
        return self.debits_posted - self.credits_posted


def fund_accounts(ledger: str) -> list[Account]:
    return [Account.for_fund(ledger, role) for role in AccountRole]


@dataclass(frozen=True, slots=True)
class Transfer:
    """``id`` is the client's, derived from the fact that caused the transfer (``transfer_id``).

    For a post or void, ``pending_id`` names the pending transfer; its accounts may be left empty
    (they are taken from the pending transfer) and an amount of 0 posts the whole pending amount.
    ``user_data`` is the client's reference (e.g. a payout id), kept for history and reports.
    ``timestamp`` is assigned by the ledger when the transfer is applied.
    """

    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    ledger: str
    code: TransferCode
    flags: TransferFlags = TransferFlags.NONE
    pending_id: str = ""
    user_data: str = ""
    timestamp: datetime | None = field(default=None, compare=False)

    def same_request(self, asked: "Transfer") -> bool:
        """Whether ``asked`` asks for exactly this (stored) transfer again. The timestamp is the
        ledger's, not asked; a post or void may leave accounts, ledger and amount empty, which then
        match what the ledger filled in from the pending transfer."""
        resolving = bool(self.flags & (TransferFlags.POST_PENDING_TRANSFER | TransferFlags.VOID_PENDING_TRANSFER))

        def same(stored, requested, empty):
            return requested == stored or (resolving and requested == empty)

        return (same(self.debit_account_id, asked.debit_account_id, "")
                and same(self.credit_account_id, asked.credit_account_id, "")
                and same(self.ledger, asked.ledger, "")
                and same(self.amount, asked.amount, 0)
                and (self.code, self.flags, self.pending_id, self.user_data)
                == (asked.code, asked.flags, asked.pending_id, asked.user_data))


def transfer_id(kind: str, *facts: str | int) -> str:
    """A transfer's id derives from what caused it: the same cause can never move money twice."""
    return derived_id("tr", kind, *facts)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What ``apply_transfers`` decided: a result per transfer, in order, and what to store."""

    results: tuple[TransferResult, ...]
    created: tuple[Transfer, ...]  # with the effective accounts/amount and timestamps
    accounts: dict[str, Account]  # every account whose totals changed, as they are now
    pending_status: dict[str, PendingStatus]  # pending transfers created, posted or voided


_MODE_FLAGS = TransferFlags.PENDING | TransferFlags.POST_PENDING_TRANSFER | TransferFlags.VOID_PENDING_TRANSFER
# The flags as plain ints for the per-transfer path: ``&`` on an IntFlag builds a new enum member
# each time, which a batch of thousands pays for many times over.
_LINKED, _PENDING, _POST, _VOID = 1, 2, 4, 8
_RESOLVING = _POST | _VOID
_DEBITS_WITHIN_CREDITS, _CREDITS_WITHIN_DEBITS = 1, 2
assert (_LINKED, _PENDING, _POST, _VOID) == (TransferFlags.LINKED, TransferFlags.PENDING,
                                             TransferFlags.POST_PENDING_TRANSFER, TransferFlags.VOID_PENDING_TRANSFER)
assert (_DEBITS_WITHIN_CREDITS, _CREDITS_WITHIN_DEBITS) == (AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                                                            AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)


def _with_totals(a: Account, debits_pending: int, debits_posted: int, credits_pending: int,
                 credits_posted: int) -> Account:
    """``replace`` for the hot path (dataclasses.replace inspects the fields on every call)."""
    return Account(a.id, a.ledger, a.role, a.flags, debits_pending, debits_posted, credits_pending, credits_posted)


def _valid_id(value: str) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and value.isascii() and value.isprintable()


def _is_amount(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_AMOUNT_FEN  # bool is not money


class _Working:
    """The accounts and transfers as the batch proceeds; a failed linked chain is rolled back.

    Changes are recorded in an undo log, so that a chain's snapshot costs nothing and rolling it
    back costs what the chain changed (copying the working maps per chain made a batch of n
    transfers O(n^2)).
    """

    _MISSING = object()

    def __init__(self, accounts: Mapping[str, Account], existing: Mapping[str, Transfer],
                 pending_status: Mapping[str, PendingStatus]):
        self.accounts = dict(accounts)
        self.transfers = dict(existing)
        self.pending_status = dict(pending_status)
        self.created: list[Transfer] = []
        self._undo: list[tuple[dict, str, object]] = []

    def _set(self, mapping: dict, key: str, value) -> None:
        self._undo.append((mapping, key, mapping.get(key, self._MISSING)))
        mapping[key] = value

    def put_transfer(self, stored: Transfer) -> None:
        self._set(self.transfers, stored.id, stored)
        self.created.append(stored)

    def put_account(self, account: Account) -> None:
        self._set(self.accounts, account.id, account)

    def put_pending(self, pending_id: str, status: PendingStatus) -> None:
        self._set(self.pending_status, pending_id, status)

    def snapshot(self):
        return len(self._undo), len(self.created)

    def restore(self, snap) -> None:
        undo_at, created = snap
        while len(self._undo) > undo_at:
            mapping, key, before = self._undo.pop()
            if before is self._MISSING:
                del mapping[key]
            else:
                mapping[key] = before
        del self.created[created:]

    def changed(self) -> tuple[set[str], set[str]]:
        """The accounts and pending transfers whose values differ from what was loaded, by id."""
        return ({k for m, k, _ in self._undo if m is self.accounts},
                {k for m, k, _ in self._undo if m is self.pending_status})


def _check_shape(t: Transfer) -> TransferResult | None:
    if not _valid_id(t.id):
        return TransferResult.ID_INVALID
    mode = int(t.flags) & (_PENDING | _POST | _VOID)
    if mode and mode not in (_PENDING, _POST, _VOID):
        return TransferResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    if not isinstance(t.user_data, str) or len(t.user_data) > MAX_USER_DATA_LENGTH:
        return TransferResult.USER_DATA_TOO_LONG
    if not _is_amount(t.amount):
        return TransferResult.AMOUNT_INVALID
    if mode & _RESOLVING:
        if not t.pending_id:
            return TransferResult.PENDING_ID_REQUIRED
        if not _valid_id(t.pending_id):
            return TransferResult.ID_INVALID
        return None
    if t.pending_id:
        return TransferResult.PENDING_ID_MUST_BE_EMPTY
    if t.amount == 0:
        return TransferResult.AMOUNT_INVALID
    return None


def _check_accounts(w: _Working, t: Transfer) -> TransferResult | None:
    if t.debit_account_id == t.credit_account_id:
        return TransferResult.ACCOUNTS_MUST_BE_DIFFERENT
    debit = w.accounts.get(t.debit_account_id)
    if debit is None:
        return TransferResult.DEBIT_ACCOUNT_NOT_FOUND
    credit = w.accounts.get(t.credit_account_id)
    if credit is None:
        return TransferResult.CREDIT_ACCOUNT_NOT_FOUND
    # F2: separate accounting. A transfer stays inside one fund source.
    if debit.ledger != credit.ledger:
        return TransferResult.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER
    if t.ledger != debit.ledger:
        return TransferResult.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS
    return None


def _limits(debit: Account, credit: Account) -> TransferResult | None:
    """F2: the flags of the two accounts as they would be after the transfer."""
    if debit.flags & _DEBITS_WITHIN_CREDITS and \
            debit.debits_pending + debit.debits_posted > debit.credits_posted:
        return TransferResult.EXCEEDS_CREDITS
    if credit.flags & _CREDITS_WITHIN_DEBITS and \
            credit.credits_pending + credit.credits_posted > credit.debits_posted:
        return TransferResult.EXCEEDS_DEBITS
    for account in (debit, credit):
        if max(account.debits_pending + account.debits_posted,
               account.credits_pending + account.credits_posted) > MAX_TOTAL_FEN:
            return TransferResult.OVERFLOWS
    return None


def _apply_one(w: _Working, t: Transfer, now: datetime) -> TransferResult:
    shape = _check_shape(t)
    if shape is not None:
        return shape
    existing = w.transfers.get(t.id)
    if existing is not None:
        return TransferResult.EXISTS if existing.same_request(t) else TransferResult.EXISTS_WITH_DIFFERENT_FIELDS

    flags = int(t.flags)
    if flags & _RESOLVING:
        return _resolve_pending(w, t, now)

    bad = _check_accounts(w, t)
    if bad is not None:
        return bad
    debit, credit = w.accounts[t.debit_account_id], w.accounts[t.credit_account_id]
    amount = t.amount
    if flags & _PENDING:
        debit = _with_totals(debit, debit.debits_pending + amount, debit.debits_posted, debit.credits_pending,
                             debit.credits_posted)
        credit = _with_totals(credit, credit.debits_pending, credit.debits_posted, credit.credits_pending + amount,
                              credit.credits_posted)
    else:
        debit = _with_totals(debit, debit.debits_pending, debit.debits_posted + amount, debit.credits_pending,
                             debit.credits_posted)
        credit = _with_totals(credit, credit.debits_pending, credit.debits_posted, credit.credits_pending,
                              credit.credits_posted + amount)
    over = _limits(debit, credit)
    if over is not None:
        return over
    _store(w, Transfer(t.id, t.debit_account_id, t.credit_account_id, amount, t.ledger, t.code, t.flags, t.pending_id,
                       t.user_data, now), debit, credit)
    if flags & _PENDING:
        w.put_pending(t.id, PendingStatus.PENDING)
    return TransferResult.OK


def _resolve_pending(w: _Working, t: Transfer, now: datetime) -> TransferResult:
    pending = w.transfers.get(t.pending_id)
    if pending is None:
        return TransferResult.PENDING_TRANSFER_NOT_FOUND
    if not int(pending.flags) & _PENDING:
        return TransferResult.PENDING_TRANSFER_NOT_PENDING
    if (t.debit_account_id and t.debit_account_id != pending.debit_account_id) or \
            (t.credit_account_id and t.credit_account_id != pending.credit_account_id):
        return TransferResult.PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS
    if t.ledger and t.ledger != pending.ledger:
        return TransferResult.PENDING_TRANSFER_HAS_DIFFERENT_LEDGER
    status = w.pending_status.get(t.pending_id, PendingStatus.PENDING)
    if status is PendingStatus.POSTED:
        return TransferResult.PENDING_TRANSFER_ALREADY_POSTED
    if status is PendingStatus.VOIDED:
        return TransferResult.PENDING_TRANSFER_ALREADY_VOIDED
    if t.amount > pending.amount:
        return TransferResult.EXCEEDS_PENDING_TRANSFER_AMOUNT
    posting = bool(int(t.flags) & _POST)
    # A post of 0 posts the whole reservation; a void always releases all of it.
    amount = (t.amount or pending.amount) if posting else pending.amount
    if not posting and t.amount not in (0, pending.amount):
        return TransferResult.EXCEEDS_PENDING_TRANSFER_AMOUNT if t.amount > pending.amount else \
            TransferResult.AMOUNT_INVALID
    debit, credit = w.accounts[pending.debit_account_id], w.accounts[pending.credit_account_id]
    debit = replace(debit, debits_pending=debit.debits_pending - pending.amount,
                    debits_posted=debit.debits_posted + (amount if posting else 0))
    credit = replace(credit, credits_pending=credit.credits_pending - pending.amount,
                     credits_posted=credit.credits_posted + (amount if posting else 0))
    over = _limits(debit, credit)
    if over is not None:
        return over
    effective = replace(t, debit_account_id=pending.debit_account_id, credit_account_id=pending.credit_account_id,
                        ledger=pending.ledger, amount=amount, timestamp=now)
    _store(w, effective, debit, credit)
    w.put_pending(t.pending_id, PendingStatus.POSTED if posting else PendingStatus.VOIDED)
    return TransferResult.OK


def _store(w: _Working, stored: Transfer, debit: Account, credit: Account) -> None:
    w.put_transfer(stored)
    w.put_account(debit)
    w.put_account(credit)


def chains(batch: Sequence[Transfer]) -> list[range]:
    """The linked chains of a batch as index ranges; a lone transfer is a chain of one."""
    out, start = [], 0
    for i, t in enumerate(batch):
        if not int(t.flags) & _LINKED:
            out.append(range(start, i + 1))
            start = i + 1
    if start < len(batch):
        out.append(range(start, len(batch)))
    return out


def apply_transfers(batch: Sequence[Transfer], accounts: Mapping[str, Account], existing: Mapping[str, Transfer],
                    pending_status: Mapping[str, PendingStatus], now: datetime) -> BatchOutcome:
    """Apply ``batch`` in order to ``accounts``; pure, deterministic, one result per transfer.

    ``accounts`` must hold every account the batch names (or names through a pending transfer);
    ``existing`` every stored transfer whose id is in the batch or named as ``pending_id``;
    ``pending_status`` the status of those that are pending transfers.
    """
    w = _Working(accounts, existing, pending_status)
    results: list[TransferResult] = [TransferResult.OK] * len(batch)
    for chain in chains(batch):
        open_chain = bool(int(batch[chain[-1]].flags) & _LINKED)
        snap = w.snapshot() if len(chain) > 1 else None  # a lone transfer that fails changed nothing
        failed_at, failure = None, None
        if open_chain:
            failed_at, failure = chain[-1], TransferResult.LINKED_EVENT_CHAIN_OPEN
        else:
            for i in chain:
                result = _apply_one(w, batch[i], now)
                results[i] = result
                if not result.succeeded:
                    failed_at, failure = i, result
                    break
        if failed_at is not None:
            # Linked transfers succeed or fail together: undo the chain, name the one that failed.
            if snap is not None:
                w.restore(snap)
            for i in chain:
                results[i] = TransferResult.LINKED_EVENT_FAILED
            results[failed_at] = failure
    changed_accounts, changed_pending = w.changed()
    return BatchOutcome(
        results=tuple(results),
        created=tuple(w.created),
        accounts={a: w.accounts[a] for a in changed_accounts},
        pending_status={p: w.pending_status[p] for p in changed_pending},
    )


def balances_from_transfers(accounts: Iterable[Account], transfers: Iterable[Transfer],
                            pending_status: Mapping[str, PendingStatus]) -> dict[str, tuple[int, int, int, int]]:
    """Recompute every account's (debits_pending, debits_posted, credits_pending, credits_posted)
    from the stored transfers alone: what VerifyLedger compares the stored totals with."""
    totals = {a.id: [0, 0, 0, 0] for a in accounts}
    for t in transfers:
        if t.flags & TransferFlags.PENDING:
            if pending_status.get(t.id, PendingStatus.PENDING) is PendingStatus.PENDING:
                totals[t.debit_account_id][0] += t.amount
                totals[t.credit_account_id][2] += t.amount
        elif t.flags & TransferFlags.VOID_PENDING_TRANSFER:
            continue
        else:  # a plain posted transfer, or the posted part of a pending one
            totals[t.debit_account_id][1] += t.amount
            totals[t.credit_account_id][3] += t.amount
    return {k: tuple(v) for k, v in totals.items()}


@dataclass(frozen=True, slots=True)
class BalanceDifference:
    """VerifyLedger: an account whose stored totals are not what its transfers add up to.

    Totals are (debits_pending, debits_posted, credits_pending, credits_posted); ``stored`` is
    None for an account that transfers name but that does not exist.
    """

    account_id: str
    stored: tuple[int, int, int, int] | None
    recomputed: tuple[int, int, int, int]
