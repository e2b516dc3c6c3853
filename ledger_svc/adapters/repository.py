"""Repositories for the ledger: funds and their accounts, the journal, payments."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger_svc.adapters.tables import accounts, funds, journal_entries, payment_references, payments, postings
from ledger_svc.domain.model import (
    NON_NEGATIVE_ROLES,
    AccountRole,
    Fund,
    FundBalances,
    FundType,
    InsufficientFunds,
    JournalEntry,
    Payee,
    Payment,
    PaymentState,
    Posting,
    account_code,
)
from skillpay.clock import aware
from skillpay.db import ConcurrentUpdate


class SqlFundRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, fund: Fund) -> None:
        self._track(fund, new=True)
        await self._conn.execute(insert(funds).values(
            fund_code=fund.fund_code, name=fund.name, fund_type=fund.fund_type.value, created_at=fund.created_at))
        await self._conn.execute(insert(accounts), [
            dict(account_code=account_code(fund.fund_code, role), fund_code=fund.fund_code, role=role.value,
                 debits_posted=0, credits_posted=0, non_negative=role in NON_NEGATIVE_ROLES)
            for role in AccountRole
        ])

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
        rows = (await self._conn.execute(
            select(accounts.c.role, accounts.c.debits_posted, accounts.c.credits_posted)
            .where(accounts.c.fund_code == fund_code))).all()
        by_role = {AccountRole(r.role): (r.debits_posted, r.credits_posted) for r in rows}
        budget_debits = by_role.get(AccountRole.BUDGET, (0, 0))[0]

        def credit_balance(role: AccountRole) -> int:
            d, c = by_role.get(role, (0, 0))
            return c - d

        return FundBalances(budget_debits, credit_balance(AccountRole.AVAILABLE),
                            credit_balance(AccountRole.PAYABLE), credit_balance(AccountRole.DISBURSED))


class SqlJournalRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def has(self, kind: str, reference: str) -> bool:
        row = await self._conn.execute(select(journal_entries.c.entry_id).where(
            journal_entries.c.kind == kind, journal_entries.c.reference == reference))
        return row.first() is not None

    async def post(self, entry: JournalEntry) -> None:
        """Append a balanced entry and move the account totals, atomically.

        Runs in a savepoint: when a guarded account would go negative, InsufficientFunds is
        raised and nothing of this entry remains, while the surrounding transaction goes on.
        """
        async with self._conn.begin_nested():
            await self._conn.execute(insert(journal_entries).values(
                entry_id=entry.entry_id, fund_code=entry.fund_code, kind=entry.kind, reference=entry.reference,
                posted_at=entry.posted_at))
            await self._conn.execute(insert(postings), [
                dict(entry_id=entry.entry_id, line=i, account_code=p.account, debit_fen=p.debit_fen,
                     credit_fen=p.credit_fen) for i, p in enumerate(entry.postings)])
            for p in entry.postings:
                # The guard lives in the UPDATE itself, so racing writers cannot overdraw (F2).
                result = await self._conn.execute(
                    update(accounts)
                    .where(accounts.c.account_code == p.account,
                           ~accounts.c.non_negative
                           | (accounts.c.credits_posted + p.credit_fen - accounts.c.debits_posted - p.debit_fen >= 0))
                    .values(debits_posted=accounts.c.debits_posted + p.debit_fen,
                            credits_posted=accounts.c.credits_posted + p.credit_fen))
                if result.rowcount != 1:
                    raise InsufficientFunds(f"{p.account} cannot cover {p.debit_fen} fen")
        # Audited only once it stands: a refused posting leaves no trace, not even in the trail.
        self._track(entry, new=True)

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
        await self._conn.execute(insert(payments).values(**self._values(p), version=0))
        if p.references:
            await self._conn.execute(insert(payment_references), [
                dict(payment_id=p.payment_id, ref_key=k, ref_value=v) for k, v in sorted(p.references.items())])

    async def get(self, payment_id: str, for_update: bool = False) -> Payment | None:
        query = select(payments).where(payments.c.payment_id == payment_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return self._track((await self._with_references([row]))[0]) if row else None

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
            submitted_at=p.submitted_at, settled_at=p.settled_at, attempts=p.attempts)

    @staticmethod
    def _from_row(r, references: dict[str, str]) -> Payment:
        return Payment(
            payment_id=r.payment_id, references=references, channel=r.channel,
            fund_code=r.fund_code, amount_fen=r.amount_fen,
            payee=Payee(r.payee_name, r.payee_id_masked, r.payee_id_sealed), created_at=aware(r.created_at),
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
