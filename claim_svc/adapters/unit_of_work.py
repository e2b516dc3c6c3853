from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from claim_svc.adapters.repository import (
    SqlClaimRepository,
    SqlPayoutOutcomeRepository,
    SqlPendingTopUpRepository,
    SqlPendingWithdrawalRepository,
)
from claim_svc.service_layer.unit_of_work import ClaimUnitOfWork
from skillpay.uow import SqlUnitOfWork


class SqlClaimUnitOfWork(SqlUnitOfWork, ClaimUnitOfWork):
    def _open_repositories(self, conn: AsyncConnection) -> None:
        self.claims = SqlClaimRepository(conn, self.track)
        self.payout_outcomes = SqlPayoutOutcomeRepository(conn)
        self.pending_top_ups = SqlPendingTopUpRepository(conn)
        self.pending_withdrawals = SqlPendingWithdrawalRepository(conn)
