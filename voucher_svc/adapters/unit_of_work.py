from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from skillpay.uow import SqlUnitOfWork
from voucher_svc.adapters.repository import (
    CertificateRepository,
    InstitutionRepository,
    OccupationRepository,
    VoucherRepository,
)


class VoucherUnitOfWork(SqlUnitOfWork):
    def _open_repositories(self, conn: AsyncConnection) -> None:
        self.occupations = OccupationRepository(conn)
        self.institutions = InstitutionRepository(conn)
        self.certificates = CertificateRepository(conn)
        self.vouchers = VoucherRepository(conn, self.track)
