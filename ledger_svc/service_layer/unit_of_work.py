"""The ledger's unit of work and repositories, as the handlers see them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from ledger_svc.domain import transfers as engine
from ledger_svc.domain.model import (
    Fund,
    FundBalances,
    JournalEntry,
    Payment,
    PaymentState,
)
from ledger_svc.domain.reconciliation import LedgerPayout
from skillpay.uow import AbstractUnitOfWork


class FundRepository(Protocol):
    async def add(self, fund: Fund) -> None: ...
    async def get(self, fund_code: str) -> Fund | None: ...
    async def list(self, after: str | None, limit: int) -> list[Fund]: ...
    async def balances(self, fund_code: str) -> FundBalances: ...


class JournalRepository(Protocol):
    """The pre-engine journal, read only (C8: kept; nothing writes it since the transfer engine)."""

    async def list(self, after: str | None, limit: int, fund_code: str = "") -> list[JournalEntry]: ...


class PaymentRepository(Protocol):
    async def add(self, payment: Payment) -> None: ...
    async def get(self, payment_id: str, for_update: bool = False) -> Payment | None: ...
    async def get_many(self, payment_ids: Iterable[str], for_update: bool = False) -> list[Payment]:
        """Those that exist, by id (locked in that order)."""
    async def live_for_claim_line(self, claim_line_id: str) -> str | None:
        """The payout of this claim line that is not failed or returned, if any."""
    async def save(self, payment: Payment) -> None: ...
    async def ids_in_state(self, states: list[PaymentState], limit: int) -> list[str]: ...
    async def list(self, after: str | None, limit: int, state: PaymentState | None = None,
                   reference: tuple[str, str] | None = None) -> list[Payment]: ...
    async def for_reconciliation(self, fund_code: str, day: date, payment_ids: Iterable[str] = ()
                                 ) -> list[LedgerPayout]: ...


class TransferRepository(Protocol):
    """The transfer engine's accounts and transfers (see adapters.repository.SqlTransferRepository)."""

    async def add_accounts(self, new: Sequence[engine.Account], created_at: datetime) -> None: ...
    async def load_for(self, batch: Sequence[engine.Transfer]) -> tuple[
        dict[str, engine.Account], dict[str, engine.Transfer], dict[str, engine.PendingStatus]]:
        """What apply_transfers needs for ``batch``, its accounts locked until the transaction ends."""
    async def save(self, outcome: engine.BatchOutcome) -> None: ...
    async def known_ids(self, ids: Iterable[str]) -> set[str]: ...
    async def accounts(self, ids: Iterable[str]) -> list[engine.Account]: ...
    async def history(self, account_id: str, after_seq: int, limit: int) -> list[tuple[int, engine.Transfer]]: ...
    async def balances_as_of(self, account_ids: Iterable[str], instant: datetime) -> dict[str, tuple[int, int, int, int]]: ...
    async def verify(self) -> tuple[list[engine.BalanceDifference], int, int]: ...


class LedgerUnitOfWork(AbstractUnitOfWork):
    funds: FundRepository
    journal: JournalRepository
    payments: PaymentRepository
    transfers: TransferRepository
