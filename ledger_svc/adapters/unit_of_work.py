from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger_svc.adapters.repository import FundRepository, JournalRepository, PaymentRepository
from skillpay.uow import SqlUnitOfWork


class LedgerUnitOfWork(SqlUnitOfWork):
    def _open_repositories(self, conn: AsyncConnection) -> None:
        self.funds = FundRepository(conn)
        self.journal = JournalRepository(conn)
        self.payments = PaymentRepository(conn, self.track)
