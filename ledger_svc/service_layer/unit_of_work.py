"""The ledger's unit of work and repositories, as the handlers see them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol

from ledger_svc.domain.model import Fund, FundBalances, JournalEntry, Payment, PaymentState
from ledger_svc.domain.reconciliation import LedgerPayout
from skillpay.uow import AbstractUnitOfWork


class FundRepository(Protocol):
    async def add(self, fund: Fund) -> None: ...
    async def get(self, fund_code: str) -> Fund | None: ...
    async def list(self, after: str | None, limit: int) -> list[Fund]: ...
    async def balances(self, fund_code: str) -> FundBalances: ...


class JournalRepository(Protocol):
    async def post(self, entry: JournalEntry) -> None:
        """Append a balanced entry; raises the domain's InsufficientFunds and posts nothing (F2)."""
    async def has(self, kind: str, reference: str) -> bool: ...
    async def list(self, after: str | None, limit: int, fund_code: str = "") -> list[JournalEntry]: ...


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> None: ...
    async def get(self, payment_id: str, for_update: bool = False) -> Payment | None: ...
    async def save(self, payment: Payment) -> None: ...
    async def ids_in_state(self, states: list[PaymentState], limit: int) -> list[str]: ...
    async def list(self, after: str | None, limit: int, state: PaymentState | None = None,
                   reference: tuple[str, str] | None = None) -> list[Payment]: ...
    async def for_reconciliation(self, fund_code: str, day: date, payment_ids: Iterable[str] = ()
                                 ) -> list[LedgerPayout]: ...


class LedgerUnitOfWork(AbstractUnitOfWork):
    funds: FundRepository
    journal: JournalRepository
    payments: PaymentRepository
