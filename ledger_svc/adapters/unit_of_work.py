from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger_svc.adapters.repository import (
    SqlFundRepository,
    SqlJournalRepository,
    SqlPaymentRepository,
    SqlTransferRepository,
)
from ledger_svc.service_layer.unit_of_work import LedgerUnitOfWork
from skillpay.uow import SqlUnitOfWork


class SqlLedgerUnitOfWork(SqlUnitOfWork, LedgerUnitOfWork):
    def _open_repositories(self, conn: AsyncConnection) -> None:
        self.funds = SqlFundRepository(conn, self.track)
        self.journal = SqlJournalRepository(conn, self.track)
        self.payments = SqlPaymentRepository(conn, self.track)
        self.transfers = SqlTransferRepository(conn)
