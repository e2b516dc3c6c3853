"""Repositories for the ledger: funds, payments, the transfer engine's accounts and transfers, and the
pre-engine journal (read only)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    String,
    and_,
    any_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger_svc.adapters.tables import (
    funds,
    journal_entries,
    ledger_accounts,
    payment_references,
    payments,
    postings,
    transfers,
)
from ledger_svc.domain import transfers as engine
from ledger_svc.domain.model import (
    Fund,
    FundBalances,
    FundType,
    JournalEntry,
    Payee,
    Payment,
    PaymentState,
    Posting,
)
from skillpay.clock import aware
from skillpay.db import ConcurrentUpdate, bulk_insert_records


class SqlFundRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, fund: Fund) -> None:
        """The fund itself; its accounts are the engine's (handlers add them with the fund)."""
        self._track(fund, new=True)
        await self._conn.execute(insert(funds).values(
            fund_code=fund.fund_code, name=fund.name, fund_type=fund.fund_type.value, created_at=fund.created_at))

    async def get(self, fund_code: str) -> Fund | None:
        row = (await self._conn.execute(select(funds).where(funds.c.fund_code == fund_code))).first()
        return Fund(row.fund_code, row.name, FundType(row.fund_type), aware(row.created_at)) if row else None

    async def list(self, after: str | None, limit: int) -> list[Fund]:
        query = select(funds).order_by(funds.c.fund_code).limit(limit)
        if after:
            query = query.where(funds.c.fund_code > after)
        return [Fund(r.fund_code, r.name, FundType(r.fund_type), aware(r.created_at))
                for r in (await self._conn.execute(query)).all()]

    async def balances(self, fund_code: str) -> FundBalances:
        """The fund's figures from its accounts in the transfer engine (F1)."""
        rows = (await self._conn.execute(
            select(ledger_accounts).where(ledger_accounts.c.ledger == fund_code))).all()
        return fund_balances(_account(r) for r in rows)


def fund_balances(fund_accounts: Iterable[engine.Account]) -> FundBalances:
    """FundBalances of one fund's engine accounts (a role without its account counts as empty)."""
    by_role = {a.role: a for a in fund_accounts}
    empty = engine.Account("", "", engine.AccountRole.AVAILABLE)

    def acc(role: engine.AccountRole) -> engine.Account:
        return by_role.get(role, empty)

    available, payables = acc(engine.AccountRole.AVAILABLE), acc(engine.AccountRole.PAYABLES)
    return FundBalances(
        allocated_fen=acc(engine.AccountRole.APPROPRIATION).debit_balance,
        available_fen=available.credits_posted - available.debits_posted - available.debits_pending,
        committed_fen=payables.credits_pending + payables.credit_balance,
        in_transit_fen=acc(engine.AccountRole.CLEARING).credit_balance,
        disbursed_fen=acc(engine.AccountRole.DISBURSED).credit_balance,
        returned_fen=acc(engine.AccountRole.RETURNED).debits_posted,
        recovered_fen=acc(engine.AccountRole.RECOVERED).debits_posted)


class SqlJournalRepository:
    """The pre-engine journal, read only: history written before the transfer engine (C8: kept)."""

    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def list(self, after: str | None, limit: int, fund_code: str = "") -> list[JournalEntry]:
        query = select(journal_entries).order_by(journal_entries.c.entry_id).limit(limit)
        if after:
            query = query.where(journal_entries.c.entry_id > after)
        if fund_code:
            query = query.where(journal_entries.c.fund_code == fund_code)
        heads = (await self._conn.execute(query)).all()
        if not heads:
            return []
        lines = (await self._conn.execute(
            select(postings).where(postings.c.entry_id.in_([h.entry_id for h in heads]))
            .order_by(postings.c.entry_id, postings.c.line))).all()
        by_entry: dict[str, list[Posting]] = {}
        for line in lines:
            by_entry.setdefault(line.entry_id, []).append(Posting(line.account_code, line.debit_fen, line.credit_fen))
        return [JournalEntry(h.entry_id, h.fund_code, h.kind, h.reference, tuple(by_entry[h.entry_id]),
                             aware(h.posted_at)) for h in heads]


class SqlPaymentRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, p: Payment) -> None:
        self._track(p, new=True)
        try:
            await self._conn.execute(insert(payments).values(**self._values(p), version=0))
        except IntegrityError as exc:
            # Another transaction took this payout id, or this claim line's live payout, meanwhile:
            # the retry sees it and refuses this request.
            raise ConcurrentUpdate(f"payment {p.payment_id} raced another request") from exc
        if p.references:
            await self._conn.execute(insert(payment_references), [
                dict(payment_id=p.payment_id, ref_key=k, ref_value=v) for k, v in sorted(p.references.items())])

    async def get(self, payment_id: str, for_update: bool = False) -> Payment | None:
        query = select(payments).where(payments.c.payment_id == payment_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return self._track((await self._with_references([row]))[0]) if row else None

    async def get_many(self, payment_ids: Iterable[str], for_update: bool = False) -> list[Payment]:
        """The payments of ``payment_ids`` that exist, by id (locked in that order: one lock order)."""
        ids = sorted(set(payment_ids))
        rows = []
        for i in range(0, len(ids), _SQLITE_IN_CHUNK):
            query = select(payments).where(payments.c.payment_id.in_(ids[i:i + _SQLITE_IN_CHUNK])) \
                .order_by(payments.c.payment_id)
            rows.extend((await self._conn.execute(query.with_for_update() if for_update else query)).all())
        return [self._track(p) for p in await self._with_references(rows)]

    async def live_for_claim_line(self, claim_line_id: str) -> str | None:
        """The payout id that pays ``claim_line_id`` and is live (not failed or returned), if any."""
        row = (await self._conn.execute(select(payments.c.payment_id)
                                        .where(payments.c.live_claim_line == claim_line_id))).first()
        return row.payment_id if row else None

    async def save(self, p: Payment) -> None:
        result = await self._conn.execute(
            update(payments).where(payments.c.payment_id == p.payment_id, payments.c.version == p.version)
            .values(**self._values(p), version=p.version + 1))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"payment {p.payment_id} changed concurrently")
        p.version += 1

    async def ids_in_state(self, states: list[PaymentState], limit: int) -> list[str]:
        rows = await self._conn.execute(
            select(payments.c.payment_id).where(payments.c.state.in_([s.value for s in states]))
            .order_by(payments.c.payment_id).limit(limit))
        return [r.payment_id for r in rows]

    async def list(self, after: str | None, limit: int, state: PaymentState | None = None,
                   reference: tuple[str, str] | None = None) -> list[Payment]:
        query = select(payments).order_by(payments.c.payment_id).limit(limit)
        if after:
            query = query.where(payments.c.payment_id > after)
        if state is not None:
            query = query.where(payments.c.state == state.value)
        if reference is not None:
            query = query.where(payments.c.payment_id.in_(
                select(payment_references.c.payment_id).where(payment_references.c.ref_key == reference[0],
                                                              payment_references.c.ref_value == reference[1])))
        return await self._with_references((await self._conn.execute(query)).all())

    async def _with_references(self, rows) -> list[Payment]:
        refs: dict[str, dict[str, str]] = {}
        if rows:
            for r in await self._conn.execute(select(payment_references).where(
                    payment_references.c.payment_id.in_([row.payment_id for row in rows]))):
                refs.setdefault(r.payment_id, {})[r.ref_key] = r.ref_value
        return [self._from_row(row, refs.get(row.payment_id, {})) for row in rows]

    @staticmethod
    def _values(p: Payment) -> dict:
        return dict(
            payment_id=p.payment_id, channel=p.channel, duplicate_requests=p.duplicate_requests,
            fund_code=p.fund_code, amount_fen=p.amount_fen, payee_name=p.payee.name,
            payee_id_masked=p.payee.id_masked, payee_id_sealed=p.payee.id_sealed, state=p.state.value,
            bank_ref=p.bank_ref, failure_reason=p.failure_reason, created_at=p.created_at,
            submitted_at=p.submitted_at, settled_at=p.settled_at, attempts=p.attempts,
            payee_card_number=p.payee.card_number, payee_account_number=p.payee.account_number,
            payee_bank_code=p.payee.bank_code, live_claim_line=(p.claim_line_id or None) if p.live else None)

    @staticmethod
    def _from_row(r, references: dict[str, str]) -> Payment:
        return Payment(
            payment_id=r.payment_id, references=references, channel=r.channel,
            fund_code=r.fund_code, amount_fen=r.amount_fen,
            payee=Payee(r.payee_name, r.payee_id_masked, r.payee_id_sealed, r.payee_card_number,
                        r.payee_account_number, r.payee_bank_code), created_at=aware(r.created_at),
            state=PaymentState(r.state), bank_ref=r.bank_ref, failure_reason=r.failure_reason,
            submitted_at=aware(r.submitted_at), settled_at=aware(r.settled_at), attempts=r.attempts,
            duplicate_requests=r.duplicate_requests, version=r.version)

    async def for_reconciliation(self, fund_code: str, day, payment_ids=()) -> list:
        """The fund's payouts (reconciliation.LedgerPayout) a bank statement of ``day`` (a date,
        Asia/Shanghai) is compared with: those settled that day, those still open at the bank
        (submitted or in doubt) once submitted by the day's end, and any other of the fund's payouts
        among ``payment_ids`` (the ids the statement names: a return of an earlier day's payout, a
        debit of a failed one). Imports are local: this method is added to a class being rebuilt.
        """
        from datetime import datetime, time, timedelta, timezone

        from sqlalchemy import and_, or_

        from ledger_svc.domain.reconciliation import LedgerPayout
        from skillpay.clock import SHANGHAI

        # In UTC, as stored (SQLite compares the text of naive UTC times).
        start = datetime.combine(day, time(), SHANGHAI).astimezone(timezone.utc)
        end = datetime.combine(day + timedelta(days=1), time(), SHANGHAI).astimezone(timezone.utc)
        columns = (payments.c.payment_id, payments.c.fund_code, payments.c.amount_fen, payments.c.state,
                   payments.c.bank_ref, payments.c.channel)
        found: dict = {}

        def keep(rows) -> None:
            for r in rows:
                found[r.payment_id] = LedgerPayout(r.payment_id, r.fund_code, r.amount_fen, r.state, r.bank_ref,
                                                   r.channel)

        keep(await self._conn.execute(select(*columns).where(
            payments.c.fund_code == fund_code,
            or_(and_(payments.c.settled_at >= start, payments.c.settled_at < end),
                and_(payments.c.state.in_([PaymentState.SUBMITTED.value, PaymentState.IN_DOUBT.value]),
                     payments.c.submitted_at < end)))))
        wanted = sorted({i for i in payment_ids if i not in found})
        for offset in range(0, len(wanted), 500):
            keep(await self._conn.execute(select(*columns).where(
                payments.c.fund_code == fund_code, payments.c.payment_id.in_(wanted[offset:offset + 500]))))
        return list(found.values())

# -- the transfer engine's storage (issue 8) ---------------------------------------------------
_TRANSFER_COLUMNS = ["id", "debit_account_id", "credit_account_id", "amount", "ledger", "code", "flags", "pending_id",
                     "user_data", "timestamp"]
_PENDING = int(engine.TransferFlags.PENDING)
_POST = int(engine.TransferFlags.POST_PENDING_TRANSFER)
_VOID = int(engine.TransferFlags.VOID_PENDING_TRANSFER)
_SQLITE_IN_CHUNK = 500  # bound parameters per IN list on SQLite
_TOTALS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")

_update_totals = (
    update(ledger_accounts).where(ledger_accounts.c.id == bindparam("account_id"))
    .values(debits_pending=bindparam("dp"), debits_posted=bindparam("dpo"), credits_pending=bindparam("cp"),
            credits_posted=bindparam("cpo")))


def _account(r) -> engine.Account:
    return engine.Account(r.id, r.ledger, engine.AccountRole(r.role), engine.AccountFlags(r.flags), r.debits_pending,
                          r.debits_posted, r.credits_pending, r.credits_posted)


def _transfer(r) -> engine.Transfer:
    return engine.Transfer(r.id, r.debit_account_id, r.credit_account_id, r.amount, r.ledger,
                           engine.TransferCode(r.code), engine.TransferFlags(r.flags), r.pending_id or "",
                           r.user_data, aware(r.timestamp))


class SqlTransferRepository:
    """Accounts and transfers of the engine (``ledger_svc.domain.transfers``) in SQL.

    ``load_for`` gives ``apply_transfers`` what a batch needs and locks the accounts it will
    change; ``save`` writes back what it decided, in the caller's transaction. On PostgreSQL the
    accounts are locked with SELECT ... FOR UPDATE in one sorted order (by id), so two batches
    never deadlock on each other; on SQLite the writer's BEGIN IMMEDIATE already serialises
    writers. Whatever another transaction may have written meanwhile (a transfer with one of the
    batch's ids, the post or void of one of its pending transfers) is read after the locks: a
    transfer that changes an account holds that account's lock until it commits.
    """

    def __init__(self, conn: AsyncConnection):
        self._conn = conn
        self._pg = conn.dialect.name == "postgresql"

    async def _rows_in(self, query_for, column, values: Iterable[str]):
        """Rows of ``query_for(condition)`` where ``column`` is one of ``values``."""
        values = sorted(set(values))
        if not values:
            return []
        if self._pg:
            return (await self._conn.execute(query_for(column == any_(bindparam("vals", type_=ARRAY(String)))),
                                             {"vals": values})).all()
        rows = []
        for i in range(0, len(values), _SQLITE_IN_CHUNK):
            rows.extend((await self._conn.execute(query_for(column.in_(values[i:i + _SQLITE_IN_CHUNK])))).all())
        return rows

    async def _transfer_rows(self, columns, key, values: Iterable[str]):
        """Rows of ``transfers`` whose unique ``key`` (id, pending_id) is one of ``values``.

        On PostgreSQL one probe of the key's index per value (a LATERAL join on the unnested
        values): ``key = ANY(...)`` of a batch's thousands of ids is planned as a sequential scan
        of the whole, growing table (and JIT-compiled once its cost passes the threshold),
        tens of milliseconds per batch where the probes take one or two.
        """
        if not self._pg:
            return await self._rows_in(lambda c: select(*columns).where(c), key, values)
        values = sorted(set(values))
        if not values:
            return []
        k = func.unnest(bindparam("vals", type_=ARRAY(String))).table_valued("key").render_derived(name="k")
        hit = select(*columns).where(key == k.c.key).limit(1).lateral("hit")
        return (await self._conn.execute(select(hit).select_from(k.join(hit, true())), {"vals": values})).all()

    async def add_accounts(self, new: Sequence[engine.Account], created_at: datetime) -> None:
        await self._conn.execute(insert(ledger_accounts), [
            dict(id=a.id, ledger=a.ledger, role=a.role.value, flags=int(a.flags), debits_pending=a.debits_pending,
                 debits_posted=a.debits_posted, credits_pending=a.credits_pending, credits_posted=a.credits_posted,
                 created_at=created_at) for a in new])

    async def _lock(self, ids: set[str]) -> dict[str, engine.Account]:
        def query(condition):
            q = select(ledger_accounts).where(condition).order_by(ledger_accounts.c.id)
            return q.with_for_update() if self._pg else q
        return {r.id: _account(r) for r in await self._rows_in(query, ledger_accounts.c.id, ids)}

    async def _transfers(self, ids: Iterable[str]) -> dict[str, engine.Transfer]:
        return {r.id: _transfer(r) for r in await self._transfer_rows([transfers], transfers.c.id, ids)}

    async def load_for(self, batch: Sequence[engine.Transfer]):
        """(accounts, existing transfers, pending statuses) for ``apply_transfers(batch, ...)``."""
        pending_ids = {t.pending_id for t in batch if t.pending_id}
        # Stored transfers never change: the pending ones named may be read before the locks.
        named = await self._transfers(pending_ids)
        wanted = {i for t in batch for i in (t.debit_account_id, t.credit_account_id) if i}
        wanted |= {i for t in named.values() for i in (t.debit_account_id, t.credit_account_id)}
        locked = await self._lock(wanted)
        existing = await self._transfers({t.id for t in batch} | pending_ids)
        # A pending transfer committed by another batch after the first read: lock its accounts too.
        late = {i for t in existing.values() if t.id in pending_ids
                for i in (t.debit_account_id, t.credit_account_id)} - wanted
        if late:
            locked |= await self._lock(late)
        pending = [t.id for t in existing.values() if t.flags & engine.TransferFlags.PENDING]
        status = {i: engine.PendingStatus.PENDING for i in pending}
        resolvers = await self._transfer_rows([transfers.c.pending_id, transfers.c.flags], transfers.c.pending_id,
                                              pending)
        for r in resolvers:
            status[r.pending_id] = engine.PendingStatus.POSTED if r.flags & _POST else engine.PendingStatus.VOIDED
        return locked, existing, status

    async def save(self, outcome: engine.BatchOutcome) -> None:
        """Insert the created transfers in bulk and write the changed totals. Pending statuses need
        no write: a post or void is itself the record that resolves its pending transfer."""
        utc: dict[datetime, datetime] = {}  # a batch's transfers share one timestamp
        await bulk_insert_records(self._conn, transfers, _TRANSFER_COLUMNS, [
            (t.id, t.debit_account_id, t.credit_account_id, t.amount, t.ledger, int(t.code), int(t.flags),
             t.pending_id or None, t.user_data,
             utc.get(t.timestamp) or utc.setdefault(t.timestamp, t.timestamp.astimezone(timezone.utc)))
            for t in outcome.created])
        if outcome.accounts:
            await self._conn.execute(_update_totals, [
                dict(account_id=a.id, dp=a.debits_pending, dpo=a.debits_posted, cp=a.credits_pending,
                     cpo=a.credits_posted) for a in sorted(outcome.accounts.values(), key=lambda a: a.id)])

    async def known_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are stored transfers."""
        return {r.id for r in await self._transfer_rows([transfers.c.id], transfers.c.id, ids)}

    async def accounts(self, ids: Iterable[str]) -> list[engine.Account]:
        rows = await self._rows_in(lambda c: select(ledger_accounts).where(c).order_by(ledger_accounts.c.id),
                                   ledger_accounts.c.id, ids)
        return sorted((_account(r) for r in rows), key=lambda a: a.id)

    async def ledger_accounts(self, ledger: str) -> list[engine.Account]:
        rows = await self._conn.execute(select(ledger_accounts).where(ledger_accounts.c.ledger == ledger)
                                        .order_by(ledger_accounts.c.id))
        return [_account(r) for r in rows]

    async def history(self, account_id: str, after_seq: int, limit: int) -> list[tuple[int, engine.Transfer]]:
        """The account's transfers (either side) in the order they were written, after ``after_seq``."""
        rows = await self._conn.execute(
            select(transfers)
            .where(or_(transfers.c.debit_account_id == account_id, transfers.c.credit_account_id == account_id),
                   transfers.c.seq > after_seq)
            .order_by(transfers.c.seq).limit(limit))
        return [(r.seq, _transfer(r)) for r in rows]

    def _recomputed(self, side: str, instant: datetime | None, account_ids: list[str] | None):
        """Per account, the sums of one side's transfers: (pending, posted). A pending transfer counts
        while nothing resolves it (as of ``instant``); a void counts nothing; a post its amount."""
        t, r = transfers.alias("t"), transfers.alias("r")
        join_on = r.c.pending_id == t.c.id
        if instant is not None:
            join_on = and_(join_on, r.c.timestamp <= instant)
        flags = t.c.flags
        open_pending = and_(flags.op("&")(_PENDING) != 0, r.c.seq.is_(None))
        posted = flags.op("&")(_PENDING | _VOID) == 0
        account = t.c[f"{side}_account_id"]
        query = (select(account.label("account_id"),
                        func.sum(case((open_pending, t.c.amount), else_=literal(0))).label("pending"),
                        func.sum(case((posted, t.c.amount), else_=literal(0))).label("posted"))
                 .select_from(t.outerjoin(r, join_on)).group_by(account))
        if instant is not None:
            query = query.where(t.c.timestamp <= instant)
        if account_ids is not None:
            query = query.where(account.in_(account_ids))
        return query

    async def _recompute(self, instant: datetime | None = None,
                         account_ids: list[str] | None = None) -> dict[str, tuple[int, int, int, int]]:
        totals: dict[str, list[int]] = {}
        for side, offset in (("debit", 0), ("credit", 2)):
            for row in await self._conn.execute(self._recomputed(side, instant, account_ids)):
                sums = totals.setdefault(row.account_id, [0, 0, 0, 0])
                sums[offset], sums[offset + 1] = int(row.pending or 0), int(row.posted or 0)
        return {k: tuple(v) for k, v in totals.items()}

    async def balances_as_of(self, account_ids: Iterable[str], instant: datetime) -> dict[str, tuple[int, int, int, int]]:
        """(debits_pending, debits_posted, credits_pending, credits_posted) of each existing account
        as they stood at ``instant``, from the transfers alone."""
        known = [a.id for a in await self.accounts(account_ids)]
        # Stored in UTC (SQLite keeps no offset): compare in UTC.
        sums = await self._recompute(instant.astimezone(timezone.utc), known) if known else {}
        return {i: sums.get(i, (0, 0, 0, 0)) for i in known}

    async def verify(self) -> tuple[list[engine.BalanceDifference], int, int]:
        """Every account whose stored totals differ from the sums of its transfers (SQL aggregates),
        with the number of accounts and transfers checked."""
        stored = {r.id: tuple(getattr(r, c) for c in _TOTALS)
                  for r in await self._conn.execute(select(ledger_accounts.c.id, *(ledger_accounts.c[c] for c in _TOTALS)))}
        recomputed = await self._recompute()
        count = (await self._conn.execute(select(func.count()).select_from(transfers))).scalar_one()
        differences = []
        for account_id in sorted(stored.keys() | recomputed.keys()):
            expected = recomputed.get(account_id, (0, 0, 0, 0))
            if stored.get(account_id) != expected:
                differences.append(engine.BalanceDifference(account_id, stored.get(account_id), expected))
        return differences, len(stored), count

    # -- reports (issue 8): a fund's accounts and transfers over a period, read in one snapshot ------
    async def read_snapshot(self) -> None:
        """Let the rest of this read-only transaction see one snapshot, so a statement's opening,
        transfers and closing agree even while batches commit: REPEATABLE READ on PostgreSQL (the
        transaction's first statement); a SQLite read transaction already is one snapshot."""
        if self._pg:
            await self._conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    async def all_accounts(self) -> list[engine.Account]:
        """Every account of every fund, by id (the trial balance)."""
        return [_account(r) for r in await self._conn.execute(select(ledger_accounts).order_by(ledger_accounts.c.id))]

    async def accounts_before(self, ledger: str, instant: datetime) -> list[engine.Account]:
        """The fund's accounts as they stood just before ``instant``: from its transfers stamped
        before it (one stamped exactly at ``instant`` is not in, as a Shanghai day opens at midnight)."""
        now = await self.ledger_accounts(ledger)
        # Stored with microseconds: "at or before one microsecond earlier" is "before".
        totals = await self.balances_as_of([a.id for a in now], instant - timedelta(microseconds=1))
        return [engine.Account(a.id, a.ledger, a.role, a.flags, *totals.get(a.id, (0, 0, 0, 0))) for a in now]

    async def ledger_transfers(self, ledger: str, start: datetime, end: datetime) -> list[engine.Transfer]:
        """The fund's transfers stamped in [start, end), in the order they were written."""
        rows = await self._conn.execute(
            select(transfers).where(transfers.c.ledger == ledger,
                                    transfers.c.timestamp >= start.astimezone(timezone.utc),
                                    transfers.c.timestamp < end.astimezone(timezone.utc))
            .order_by(transfers.c.seq))
        return [_transfer(r) for r in rows]

    async def transfers_by_id(self, ids: Iterable[str]) -> dict[str, engine.Transfer]:
        """Stored transfers by id (those that do not exist are left out)."""
        return await self._transfers(ids)
