from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from claim_svc.adapters.repository import ClaimRepository
from skillpay.uow import SqlUnitOfWork


class ClaimUnitOfWork(SqlUnitOfWork):
    def _open_repositories(self, conn: AsyncConnection) -> None:
        self.claims = ClaimRepository(conn, self.track)
