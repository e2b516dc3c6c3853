"""The voucher service's unit of work and repositories, as the handlers see them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from skillpay.uow import AbstractUnitOfWork, AuditLog, IdempotencyRepository
from voucher_svc.domain.eligibility import HistoryEntry
from voucher_svc.domain.model import Certificate, CertificateType, Institution, Occupation, Voucher, VoucherState


class OccupationRepository(Protocol):
    async def add(self, occupation: Occupation) -> None: ...
    async def get(self, code: str, level: int) -> Occupation | None: ...
    async def exists_code(self, code: str) -> bool: ...
    async def list(self, after: str | None, limit: int) -> list[Occupation]: ...


class InstitutionRepository(Protocol):
    async def add(self, institution: Institution) -> None: ...
    async def get(self, institution_id: str) -> Institution | None: ...
    async def get_by_credit_code(self, credit_code: str) -> Institution | None: ...


class CertificateRepository(Protocol):
    async def add(self, certificate: Certificate) -> None: ...
    async def get(self, certificate_id: str, for_update: bool = False) -> Certificate | None: ...
    async def find_by_number(self, certificate_type: CertificateType, number: str) -> Certificate | None: ...
    async def mark_redeemed(self, certificate: Certificate) -> None: ...
    async def release(self, certificate: Certificate, voucher_id: str) -> None:
        """Free a certificate the voucher redeemed (a rolled-back redemption)."""


class VoucherRepository(Protocol):
    async def add(self, voucher: Voucher) -> None: ...
    async def get(self, voucher_id: str, for_update: bool = False) -> Voucher | None: ...
    async def save(self, voucher: Voucher) -> None: ...
    async def list(self, after: str | None, limit: int, state: VoucherState | None) -> list[Voucher]: ...
    async def history(self, id_lookup: str) -> list[HistoryEntry]: ...
    async def due_for_expiry(self, now: datetime, limit: int) -> list[Voucher]:
        """V5: up to ``limit`` issued or enrolled vouchers with valid_until <= now, locked for this
        transaction; rows another transaction holds are skipped (two sweeps share the work)."""


class PersonRepository(Protocol):
    async def lock(self, id_lookup: str) -> None: ...


class VoucherUnitOfWork(AbstractUnitOfWork):
    occupations: OccupationRepository
    institutions: InstitutionRepository
    certificates: CertificateRepository
    vouchers: VoucherRepository
    persons: PersonRepository
    idempotency: IdempotencyRepository
    audit: AuditLog
