from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from skillpay.uow import SqlUnitOfWork
from voucher_svc.adapters.repository import (
    BatchRepository,
    CertificateRepository,
    EmploymentRepository,
    InstitutionRepository,
    OccupationRepository,
    PersonRepository,
    UsedPresentationRepository,
    VoucherRepository,
)
from voucher_svc.service_layer.unit_of_work import VoucherUnitOfWork


class SqlVoucherUnitOfWork(SqlUnitOfWork, VoucherUnitOfWork):
    def _open_repositories(self, conn: AsyncConnection) -> None:
        self.occupations = OccupationRepository(conn, self.track)
        self.institutions = InstitutionRepository(conn, self.track)
        self.certificates = CertificateRepository(conn, self.track)
        self.vouchers = VoucherRepository(conn, self.track, self.track_new)
        self.persons = PersonRepository(conn, self.track, self.track_new)
        self.presentations = UsedPresentationRepository(conn)
        self.employment = EmploymentRepository(conn, self.track)
        self.batches = BatchRepository(conn, self.track)
