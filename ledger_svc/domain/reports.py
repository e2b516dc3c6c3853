"""Ledger queries and reports on plain domain values (F1-F3, C8, X2): pure, storage-agnostic.

Everything here works on ``Account`` and ``Transfer`` values as ``transfers.py`` defines them, so
the same functions serve the repository (which loads the values) and tests (which build them with
``apply_transfers``). Amounts are integer fen throughout.

Figures of a fund (one ledger, F1), from its accounts' posted totals:

    appropriated     appropriation's debit balance: everything allocated to the fund, net
    available        available's credit balance (posted)
    commitments      available's pending debits: approved payouts reserved, not yet submitted
    free to commit   available - commitments: what a new commitment may still take (F2)
    payables         payables' credit balance (posted): owed, not yet handed to the bank
    in transit       clearing's credit balance: handed to the bank, not yet on its statement
    disbursed        disbursed's credit balance: paid, confirmed by the bank, net of what came back
    returned,        returned's and recovered's credit balances: normally 0, since money coming
    recovered        back passes through them to available in one linked pair
    funds held       appropriated - disbursed  (= available + payables + in transit + returned +
                     recovered): the money the fund still holds

and so, over a period, with the movements counted gross from the period's transfers:

    funds held (closing) = funds held (opening) + appropriations - disbursed + returned + recovered
                           + other (transfers outside the standard flows, e.g. corrections)

``fund_statement`` checks that identity (and the same for commitments and in transit) against the
closing balances, and reports any difference instead of raising: a statement is what finance reads
when something is wrong.

Periods are Asia/Shanghai calendar days: a statement from 1 June to 30 June covers the instants
from 2025-06-01T00:00:00+08:00 (included) to 2025-07-01T00:00:00+08:00 (excluded), so a transfer
stamped at 23:59:59+08:00 belongs to its day and one at 00:00:00+08:00 to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from ledger_svc.domain.transfers import (
    Account,
    AccountFlags,
    AccountRole,
    Transfer,
    TransferCode,
    TransferFlags,
)
from skillpay import fields
from skillpay.clock import SHANGHAI
from skillpay.errors import FieldViolation, require

# A statement or chart longer than this is refused (client error): ten years of days.
MAX_PERIOD_DAYS = 3660

# The account whose balance is read on the debit side; every other role is credit-normal.
DEBIT_NORMAL = frozenset({AccountRole.APPROPRIATION})


# ------------------------------------------------------------------------------------- periods


def day_start(day: date) -> datetime:
    """The aware instant a Shanghai calendar day begins."""
    return datetime.combine(day, time(0), SHANGHAI)


def _check_period(period_start: object, period_end: object, violations: list[FieldViolation]) -> None:
    bad = False
    for name, value in (("period_start", period_start), ("period_end", period_end)):
        if fields.BOOKING_DAY.check(value, name, violations) is None:
            bad = True
    if bad:
        return
    if period_end < period_start:
        violations.extend([FieldViolation("period_start", "must not be after period_end"),
                           FieldViolation("period_end", "must not be before period_start")])
    elif (period_end - period_start).days + 1 > MAX_PERIOD_DAYS:
        violations.append(FieldViolation("period_end", f"must be at most {MAX_PERIOD_DAYS} days after period_start"))


def period_bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """Shanghai days ``period_start``..``period_end`` (both included) as the half-open interval
    [start, end) of aware instants. Bad periods are client errors naming the fields."""
    violations: list[FieldViolation] = []
    _check_period(period_start, period_end, violations)
    require(violations)
    return day_start(period_start), day_start(period_end + timedelta(days=1))


def _stamp(t: Transfer) -> datetime:
    if t.timestamp is None or t.timestamp.tzinfo is None:
        # Stored transfers always carry the ledger's aware timestamp; anything else is a bug upstream.
        raise ValueError(f"transfer {t.id} has no timezone-aware timestamp")
    return t.timestamp


def _check_request(fund: str | None, period_start: date, period_end: date) -> tuple[str | None, datetime, datetime]:
    """The fund code and the period's bounds; every offending field named in one client error."""
    violations: list[FieldViolation] = []
    if fund is not None:
        fund = fields.FUND_CODE.check(fund, "fund", violations)
    _check_period(period_start, period_end, violations)
    require(violations)
    return (fund, *period_bounds(period_start, period_end))


# ------------------------------------------------------------------------ effects of a transfer

_Totals = list[int]  # [debits_pending, debits_posted, credits_pending, credits_posted]


def _pending_amount(t: Transfer, pendings: Mapping[str, Transfer]) -> int:
    """The amount a post or void releases from pending: the pending transfer's amount. A void is
    stored with it; a post may have posted less, so its pending transfer is looked up (when it is
    not known, the post is taken to have posted all of it)."""
    pending = pendings.get(t.pending_id)
    return pending.amount if pending is not None else t.amount


def _effects(t: Transfer, pendings: Mapping[str, Transfer]) -> tuple[_Totals, _Totals]:
    """What ``t`` (as stored: effective accounts and amount) did to its debit and credit account."""
    a = t.amount
    if t.flags & TransferFlags.PENDING:
        return [a, 0, 0, 0], [0, 0, a, 0]
    if t.flags & TransferFlags.POST_PENDING_TRANSFER:
        p = _pending_amount(t, pendings)
        return [-p, a, 0, 0], [0, 0, -p, a]
    if t.flags & TransferFlags.VOID_PENDING_TRANSFER:
        p = _pending_amount(t, pendings)
        return [-p, 0, 0, 0], [0, 0, -p, 0]
    return [0, a, 0, 0], [0, 0, 0, a]


def _shift(account: Account, delta: _Totals, sign: int) -> Account:
    return Account(account.id, account.ledger, account.role, account.flags,
                   account.debits_pending + sign * delta[0], account.debits_posted + sign * delta[1],
                   account.credits_pending + sign * delta[2], account.credits_posted + sign * delta[3])


def _apply_effects(accounts: Iterable[Account], transfers: Iterable[Transfer], sign: int,
                   pending_transfers: Mapping[str, Transfer] | Iterable[Transfer] = ()) -> dict[str, Account]:
    out = {a.id: a for a in accounts}
    pendings = _as_map(pending_transfers)
    todo = list(transfers)
    pendings.update({t.id: t for t in todo if t.flags & TransferFlags.PENDING})
    for t in todo:
        debit, credit = _effects(t, pendings)
        for account_id, delta in ((t.debit_account_id, debit), (t.credit_account_id, credit)):
            if account_id in out:
                out[account_id] = _shift(out[account_id], delta, sign)
    return out


def _as_map(transfers: Mapping[str, Transfer] | Iterable[Transfer]) -> dict[str, Transfer]:
    if isinstance(transfers, Mapping):
        return dict(transfers)
    return {t.id: t for t in transfers}


def balances_as_of(accounts_now: Iterable[Account], transfers_after: Iterable[Transfer],
                   as_of: datetime | None = None,
                   pending_transfers: Mapping[str, Transfer] | Iterable[Transfer] = ()) -> dict[str, Account]:
    """The accounts as they were at the instant ``as_of``, from the accounts now and the transfers
    since: every transfer in ``transfers_after`` stamped at or after ``as_of`` is undone (one
    stamped exactly at ``as_of`` is not yet in, as a Shanghai day's statement opens at midnight);
    without ``as_of`` all of them are undone. Posts and voids release their pending transfer's
    amount: pass the pending transfers made before ``as_of`` that such posts name in
    ``pending_transfers`` (those in ``transfers_after`` are found there)."""
    transfers = list(transfers_after)
    if as_of is not None:
        transfers = [t for t in transfers if _stamp(t) >= as_of]
    return _apply_effects(accounts_now, transfers, -1, {**_as_map(pending_transfers), **_as_map(transfers_after)})


def roll_forward(accounts: Iterable[Account], transfers: Iterable[Transfer],
                 pending_transfers: Mapping[str, Transfer] | Iterable[Transfer] = ()) -> dict[str, Account]:
    """The accounts after ``transfers`` (as stored) are added to them; the inverse of ``balances_as_of``."""
    return _apply_effects(accounts, transfers, +1, pending_transfers)


# --------------------------------------------------------------------------------- trial balance


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """One account's line: its totals and its balance on its normal side (posted, and pending)."""

    account_id: str
    ledger: str
    role: AccountRole
    flags: AccountFlags
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    @property
    def debit_normal(self) -> bool:
        return self.role in DEBIT_NORMAL

    @property
    def balance(self) -> int:
        """Posted balance on the account's normal side."""
        net = self.credits_posted - self.debits_posted
        return -net if self.debit_normal else net

    @property
    def pending(self) -> int:
        """Pending balance on the account's normal side (reservations in, less reservations out)."""
        net = self.credits_pending - self.debits_pending
        return -net if self.debit_normal else net

    @classmethod
    def of(cls, a: Account) -> AccountBalance:
        return cls(a.id, a.ledger, a.role, a.flags, a.debits_pending, a.debits_posted, a.credits_pending,
                   a.credits_posted)


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    ledger: str  # a fund source's code, or "" for all funds together
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def balanced(self) -> bool:
        return self.debits_posted == self.credits_posted and self.debits_pending == self.credits_pending


@dataclass(frozen=True, slots=True)
class Difference:
    """Something a report found wrong: which rule, where, by how much (fen), and what it means."""

    rule: str  # the POLICY.md id, e.g. "F2"
    kind: str  # e.g. "posted_unbalanced", "negative_balance", "closing_mismatch"
    ledger: str
    account_id: str
    amount: int
    description: str


@dataclass(frozen=True, slots=True)
class TrialBalance:
    accounts: tuple[AccountBalance, ...]
    ledgers: tuple[LedgerTotals, ...]  # one per fund source (F1), sorted by code
    overall: LedgerTotals
    differences: tuple[Difference, ...]

    @property
    def balanced(self) -> bool:
        return not self.differences


def trial_balance(accounts: Iterable[Account]) -> TrialBalance:
    """Every fund's debits equal its credits, posted and pending separately (F1: each fund is its
    own set of books), the same over all funds, and no account flagged against overdraft is
    overdrawn (F2). Differences are listed, never raised."""
    lines = sorted((AccountBalance.of(a) for a in accounts), key=lambda b: (b.ledger, b.account_id))
    per_ledger: dict[str, list[int]] = {}
    for b in lines:
        t = per_ledger.setdefault(b.ledger, [0, 0, 0, 0])
        t[0] += b.debits_posted
        t[1] += b.credits_posted
        t[2] += b.debits_pending
        t[3] += b.credits_pending
    ledgers = tuple(LedgerTotals(code, *t) for code, t in sorted(per_ledger.items()))
    overall = LedgerTotals("", *(sum(getattr(lt, f) for lt in ledgers) for f in
                                 ("debits_posted", "credits_posted", "debits_pending", "credits_pending")))
    differences: list[Difference] = []
    for lt in (*ledgers, overall):
        where = f"fund {lt.ledger}" if lt.ledger else "all funds"
        if lt.debits_posted != lt.credits_posted:
            differences.append(Difference(
                "F1", "posted_unbalanced", lt.ledger, "", lt.debits_posted - lt.credits_posted,
                f"{where}: posted debits {lt.debits_posted} fen differ from posted credits {lt.credits_posted} fen"))
        if lt.debits_pending != lt.credits_pending:
            differences.append(Difference(
                "F1", "pending_unbalanced", lt.ledger, "", lt.debits_pending - lt.credits_pending,
                f"{where}: pending debits {lt.debits_pending} fen differ from pending credits {lt.credits_pending} fen"))
    for b in lines:
        if b.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
            over = b.debits_posted + b.debits_pending - b.credits_posted
            if over > 0:
                differences.append(Difference(
                    "F2", "negative_balance", b.ledger, b.account_id, over,
                    f"{b.account_id}: debits (posted and pending) exceed posted credits by {over} fen"))
        if b.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
            over = b.credits_posted + b.credits_pending - b.debits_posted
            if over > 0:
                differences.append(Difference(
                    "F2", "negative_balance", b.ledger, b.account_id, over,
                    f"{b.account_id}: credits (posted and pending) exceed posted debits by {over} fen"))
    return TrialBalance(tuple(lines), ledgers, overall, tuple(differences))


# -------------------------------------------------------------------------------- fund statement


@dataclass(frozen=True, slots=True)
class FundPosition:
    """A fund's figures at one instant (see the module docstring for each)."""

    appropriated: int = 0
    available: int = 0
    commitments: int = 0
    payables: int = 0
    in_transit: int = 0
    disbursed: int = 0
    returned: int = 0
    recovered: int = 0

    @property
    def free_to_commit(self) -> int:
        return self.available - self.commitments

    @property
    def funds_held(self) -> int:
        return self.appropriated - self.disbursed

    @classmethod
    def of(cls, fund: str, accounts: Iterable[Account]) -> FundPosition:
        by_role = {a.role: AccountBalance.of(a) for a in accounts if a.ledger == fund}

        def bal(role: AccountRole) -> int:
            b = by_role.get(role)
            return b.balance if b is not None else 0

        available = by_role.get(AccountRole.AVAILABLE)
        return cls(
            appropriated=bal(AccountRole.APPROPRIATION),
            available=bal(AccountRole.AVAILABLE),
            commitments=available.debits_pending if available is not None else 0,
            payables=bal(AccountRole.PAYABLES),
            in_transit=bal(AccountRole.CLEARING),
            disbursed=bal(AccountRole.DISBURSED),
            returned=bal(AccountRole.RETURNED),
            recovered=bal(AccountRole.RECOVERED),
        )


@dataclass(frozen=True, slots=True)
class Movements:
    """A period's movements of a fund, gross, each counted once from its transfer's accounts."""

    appropriations: int = 0  # appropriation -> available, less any taken back
    commitments_created: int = 0  # pending available -> payables (approval reserves)
    commitments_posted: int = 0  # the posted part of commitments (submission)
    commitments_released: int = 0  # voided commitments and the unposted rest of partial posts
    submitted: int = 0  # payables -> clearing: handed to the bank
    disbursed: int = 0  # clearing -> disbursed: settled, on the bank's statement
    failed: int = 0  # payables or clearing -> available: failed payouts released (reversing)
    returned: int = 0  # disbursed -> returned: paid, then sent back by the bank
    recovered: int = 0  # disbursed -> recovered: paid, then recovered from the payee (X2)
    other_held: int = 0  # effect on funds held of transfers outside the standard flows
    other_in_transit: int = 0  # effect on in transit of transfers outside the standard flows
    other_count: int = 0  # how many transfers were outside the standard flows

    @property
    def released(self) -> int:
        """Failed and released together: everything that went back to available unpaid."""
        return self.commitments_released + self.failed


@dataclass(frozen=True, slots=True)
class CodeTotal:
    code: TransferCode
    count: int
    posted: int  # posted amount moved by transfers of this code
    pending: int  # amount reserved by pending transfers of this code
    voided: int  # amount released by voids of this code


@dataclass(frozen=True, slots=True)
class FundStatement:
    fund: str
    period_start: date
    period_end: date
    starts_at: datetime  # aware, Shanghai midnight of period_start (included)
    ends_at: datetime  # aware, Shanghai midnight after period_end (excluded)
    opening: FundPosition
    movements: Movements
    closing: FundPosition
    by_code: tuple[CodeTotal, ...]
    transfer_count: int
    excluded: int  # transfers passed in that are of another fund or outside the period
    differences: tuple[Difference, ...] = field(default=())

    @property
    def balanced(self) -> bool:
        return not self.differences


def _role(account_id: str, roles: Mapping[str, AccountRole]) -> AccountRole | None:
    role = roles.get(account_id)
    if role is not None:
        return role
    _, _, tail = account_id.rpartition(":")
    try:
        return AccountRole(tail)
    except ValueError:
        return None


_HELD = (AccountRole.APPROPRIATION, AccountRole.DISBURSED)  # funds held = appropriated - disbursed


def _count(m: dict[str, int], t: Transfer, debit: AccountRole | None, credit: AccountRole | None,
           pendings: Mapping[str, Transfer]) -> None:
    """Add one transfer of the fund to the period's movements."""
    a = t.amount
    # Commitments are available's pending debits: every reservation on available counts.
    if t.flags & TransferFlags.PENDING:
        if debit is AccountRole.AVAILABLE:
            m["commitments_created"] += a
        else:
            m["other_count"] += 1  # a reservation elsewhere: moves no posted balance
        return
    if t.flags & TransferFlags.VOID_PENDING_TRANSFER:
        if debit is AccountRole.AVAILABLE:
            m["commitments_released"] += _pending_amount(t, pendings)
        else:
            m["other_count"] += 1
        return
    if t.flags & TransferFlags.POST_PENDING_TRANSFER and debit is AccountRole.AVAILABLE:
        m["commitments_released"] += _pending_amount(t, pendings) - a
        if credit is AccountRole.PAYABLES:
            m["commitments_posted"] += a
            return
        m["commitments_posted"] += a  # posted elsewhere: counted below as a posted movement too
    pair = (debit, credit)
    if pair == (AccountRole.APPROPRIATION, AccountRole.AVAILABLE):
        m["appropriations"] += a
    elif pair == (AccountRole.AVAILABLE, AccountRole.APPROPRIATION):
        m["appropriations"] -= a  # an allocation taken back
    elif pair == (AccountRole.PAYABLES, AccountRole.CLEARING):
        m["submitted"] += a
    elif pair == (AccountRole.CLEARING, AccountRole.DISBURSED):
        m["disbursed"] += a
    elif pair in ((AccountRole.PAYABLES, AccountRole.AVAILABLE), (AccountRole.CLEARING, AccountRole.AVAILABLE)):
        m["failed"] += a
        if debit is AccountRole.CLEARING:
            m["_failed_from_clearing"] += a
    elif pair == (AccountRole.DISBURSED, AccountRole.RETURNED):
        m["returned"] += a
    elif pair == (AccountRole.DISBURSED, AccountRole.RECOVERED):
        m["recovered"] += a
    elif pair in ((AccountRole.RETURNED, AccountRole.AVAILABLE), (AccountRole.RECOVERED, AccountRole.AVAILABLE)):
        pass  # the second half of a return or recovery: inside funds held, counted once above
    else:
        m["other_count"] += 1
        m["other_held"] += a * ((debit in _HELD) - (credit in _HELD))
        m["other_in_transit"] += a * ((credit is AccountRole.CLEARING) - (debit is AccountRole.CLEARING))


def fund_statement(fund: str, period_start: date, period_end: date, opening_accounts: Iterable[Account],
                   transfers_in_period: Iterable[Transfer], *,
                   pending_transfers: Mapping[str, Transfer] | Iterable[Transfer] = (),
                   closing_accounts: Iterable[Account] | None = None) -> FundStatement:
    """A fund's statement for Shanghai days ``period_start``..``period_end`` (both included).

    ``opening_accounts``: the fund's accounts as of the period's start (``balances_as_of``);
    ``transfers_in_period``: its transfers in the period (others passed in are left out and
    counted in ``excluded``), in any order; ``pending_transfers``: earlier pending transfers that
    posts or voids in the period name; ``closing_accounts``: the accounts as of the period's end
    when the caller has them (storage), else they are the opening rolled forward by the period's
    transfers. The closing figures are checked against opening + movements (F2: each fund on its
    own); any difference is listed in ``differences``.
    """
    fund, starts_at, ends_at = _check_request(fund, period_start, period_end)
    opening_list = [a for a in opening_accounts if a.ledger == fund]
    roles = {a.id: a.role for a in opening_list}
    pendings = _as_map(pending_transfers)

    kept: list[Transfer] = []
    excluded = 0
    for t in transfers_in_period:
        if t.ledger != fund or not starts_at <= _stamp(t) < ends_at:
            excluded += 1
            continue
        kept.append(t)
    pendings.update({t.id: t for t in kept if t.flags & TransferFlags.PENDING})

    m = dict.fromkeys((*Movements.__dataclass_fields__, "_failed_from_clearing"), 0)
    codes: dict[TransferCode, list[int]] = {}
    for t in kept:
        _count(m, t, _role(t.debit_account_id, roles), _role(t.credit_account_id, roles), pendings)
        c = codes.setdefault(TransferCode(t.code), [0, 0, 0, 0])
        c[0] += 1
        if t.flags & TransferFlags.PENDING:
            c[2] += t.amount
        elif t.flags & TransferFlags.VOID_PENDING_TRANSFER:
            c[3] += _pending_amount(t, pendings)
        else:
            c[1] += t.amount
    failed_from_clearing = m.pop("_failed_from_clearing")
    movements = Movements(**m)

    rolled = roll_forward(opening_list, kept, pendings)
    opening = FundPosition.of(fund, opening_list)
    expected = FundPosition.of(fund, rolled.values())
    differences: list[Difference] = []
    if closing_accounts is None:
        closing = expected
    else:
        closing_list = [a for a in closing_accounts if a.ledger == fund]
        closing = FundPosition.of(fund, closing_list)
        by_id = {a.id: a for a in closing_list}
        for account_id in sorted(set(by_id) | set(rolled)):
            got, want = by_id.get(account_id), rolled.get(account_id)
            if _totals(got) != _totals(want):
                differences.append(Difference(
                    "F2", "closing_mismatch", fund, account_id, _balance(got) - _balance(want),
                    f"{account_id}: closing totals {_totals(got)} differ from opening + the period's "
                    f"transfers {_totals(want)}"))

    identities = (
        ("funds_held", closing.funds_held,
         opening.funds_held + movements.appropriations - movements.disbursed + movements.returned
         + movements.recovered + movements.other_held),
        ("commitments", closing.commitments,
         opening.commitments + movements.commitments_created - movements.commitments_posted
         - movements.commitments_released),
        ("in_transit", closing.in_transit,
         opening.in_transit + movements.submitted - movements.disbursed - failed_from_clearing
         + movements.other_in_transit),
    )
    for name, got, want in identities:
        if got != want:
            differences.append(Difference(
                "F2", "movement_mismatch", fund, "", got - want,
                f"closing {name} {got} fen differs from opening + movements {want} fen by {got - want} fen"))

    by_code = tuple(CodeTotal(code, *v) for code, v in sorted(codes.items()))
    return FundStatement(fund, period_start, period_end, starts_at, ends_at, opening, movements, closing, by_code,
                         len(kept), excluded, tuple(differences))


def transfers_of(statement: FundStatement, transfers: Iterable[Transfer]) -> Iterator[Transfer]:
    """The transfers a statement covers (its fund, its period), lazily, in the order given."""
    for t in transfers:
        if t.ledger == statement.fund and statement.starts_at <= _stamp(t) < statement.ends_at:
            yield t


def _balance(a: Account | None) -> int:
    return AccountBalance.of(a).balance if a is not None else 0


def _totals(a: Account | None) -> tuple[int, int, int, int]:
    if a is None:
        return (0, 0, 0, 0)
    return (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)


# ---------------------------------------------------------------------------------- daily series


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date  # a Shanghai calendar day
    disbursed: int  # settled that day
    in_transit: int  # clearing's balance at the end of the day
    released: int  # failed and released that day (voids, partial-post rests, reversals to available)
    returned: int  # returned that day (and recovered, X2)


def daily_series(transfers: Iterable[Transfer], start: date, end: date, *, fund: str | None = None,
                 opening_in_transit: int = 0,
                 pending_transfers: Mapping[str, Transfer] | Iterable[Transfer] = ()) -> list[DayFigures]:
    """Per Shanghai day from ``start`` to ``end`` (both included), for the chart: what was
    disbursed, what was in transit at the end of the day, what failed or was released, and what
    came back. ``transfers`` may be the whole history: those before ``start`` only move the
    in-transit balance (which starts at ``opening_in_transit``), those after ``end`` are ignored.
    With ``fund`` only that fund's transfers count."""
    fund, starts_at, ends_at = _check_request(fund, start, end)
    days = (end - start).days + 1
    rows = [[0, 0, 0, 0] for _ in range(days)]  # disbursed, in-transit change, released, returned
    carried = opening_in_transit
    pendings = _as_map(pending_transfers)
    todo = [t for t in transfers if fund is None or t.ledger == fund]
    pendings.update({t.id: t for t in todo if t.flags & TransferFlags.PENDING})
    for t in todo:
        stamp = _stamp(t)
        if stamp >= ends_at:
            continue
        m = dict.fromkeys((*Movements.__dataclass_fields__, "_failed_from_clearing"), 0)
        _count(m, t, _role(t.debit_account_id, {}), _role(t.credit_account_id, {}), pendings)
        transit = m["submitted"] - m["disbursed"] - m["_failed_from_clearing"] + m["other_in_transit"]
        if stamp < starts_at:
            carried += transit
            continue
        row = rows[(stamp.astimezone(SHANGHAI).date() - start).days]
        row[0] += m["disbursed"]
        row[1] += transit
        row[2] += m["commitments_released"] + m["failed"]
        row[3] += m["returned"] + m["recovered"]
    out = []
    for i, (disbursed, transit, released, returned) in enumerate(rows):
        carried += transit
        out.append(DayFigures(start + timedelta(days=i), disbursed, carried, released, returned))
    return out
