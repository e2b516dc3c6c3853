"""The voucher service's unit of work and repositories, as the handlers see them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from skillpay.uow import AbstractUnitOfWork, AuditLog, IdempotencyRepository
from voucher_svc.domain.batch import Batch
from voucher_svc.domain.catalogue_query import InstitutionFilter, OccupationFilter
from voucher_svc.domain.eligibility import HistoryEntry
from voucher_svc.domain.employment import EmploymentRecord
from voucher_svc.domain.model import (Certificate, CertificateType, Institution, Occupation, PersonIdentity, Voucher,
                                      VoucherState)
from voucher_svc.domain.person import Person


class OccupationRepository(Protocol):
    """A1: catalogue entries (code, level) and their dated versions."""

    async def add(self, occupation: Occupation) -> None:
        """A new entry with its first version."""
    async def add_version(self, occupation: Occupation) -> None:
        """The next version of an existing entry."""
    async def close(self, occupation: Occupation) -> None:
        """Write the end date the next version gave this (latest) one: the only change a version ever sees;
        ConcurrentUpdate when it is no longer the latest."""
    async def get(self, code: str, level: int) -> Occupation | None:
        """The entry's latest version."""
    async def in_force(self, code: str, level: int, on: date) -> Occupation | None: ...
    async def exists_code(self, code: str) -> bool: ...
    async def list(self, after: tuple[str, int] | None, limit: int, on: date,
                   filters: OccupationFilter) -> list[Occupation]:
        """The versions in force on ``on``, one per entry, by (code, level) after ``after``."""


class InstitutionRepository(Protocol):
    async def add(self, institution: Institution) -> None: ...
    async def get(self, institution_id: str, for_update: bool = False, for_share: bool = False) -> Institution | None:
        """``for_share`` holds its status until the transaction ends (X3: no suspension slips in between)."""
    async def save(self, institution: Institution) -> None:
        """Optimistic, on ``version``: ConcurrentUpdate when someone changed it meanwhile."""
    async def get_by_credit_code(self, credit_code: str) -> Institution | None: ...
    async def list(self, after: str | None, limit: int, filters: InstitutionFilter) -> list[Institution]: ...


class CertificateRepository(Protocol):
    async def add(self, certificate: Certificate) -> None: ...
    async def get(self, certificate_id: str, for_update: bool = False) -> Certificate | None: ...
    async def find_by_number(self, certificate_type: CertificateType, number: str) -> Certificate | None: ...
    async def mark_redeemed(self, certificate: Certificate) -> None: ...
    async def release(self, certificate: Certificate, voucher_id: str) -> None:
        """Free a certificate the voucher redeemed (a rolled-back redemption)."""


class VoucherRepository(Protocol):
    async def add(self, voucher: Voucher) -> None: ...
    async def add_many(self, vouchers: list[Voucher]) -> None: ...
    async def existing_ids(self, voucher_ids: set[str]) -> set[str]: ...
    async def get(self, voucher_id: str, for_update: bool = False) -> Voucher | None: ...
    async def save(self, voucher: Voucher) -> None: ...
    async def list(self, after: str | None, limit: int, state: VoucherState | None,
                   holder_lookup: str | None = None) -> list[Voucher]: ...
    async def history(self, id_lookup: str) -> list[HistoryEntry]: ...
    async def due_for_expiry(self, now: datetime, limit: int) -> list[Voucher]:
        """V5: up to ``limit`` issued or enrolled vouchers with valid_until <= now, locked for this
        transaction; rows another transaction holds are skipped (two sweeps share the work)."""

    async def trained_at(self, id_lookup: str, institution_id: str) -> bool:
        """Whether the person enrolled (or was trained) with a voucher at this institution."""

    async def subsidised_of(self, id_lookup: str) -> list[Voucher]:
        """A5: the person's redeemed or paid vouchers (read without a row lock; ``save`` checks the version)."""


class EmploymentRepository(Protocol):
    async def add(self, record: EmploymentRecord) -> None: ...
    async def get(self, employment_id: str) -> EmploymentRecord | None: ...
    async def start_dates(self, id_lookup: str) -> list[date]: ...
    async def of_person(self, id_lookup: str, after: str | None, limit: int) -> list[EmploymentRecord]:
        """Latest start first (then by id); ``after`` is the "<start date>|<id>" key of the last one seen."""


class BatchRepository(Protocol):
    async def add(self, batch: Batch) -> None: ...
    async def get(self, batch_id: str, for_update: bool = False) -> Batch | None: ...
    async def save(self, batch: Batch) -> None: ...


class PersonRepository(Protocol):
    async def lock(self, id_lookup: str) -> None:
        """L1-L4: hold the person's row until the unit of work ends (commands changing an entitlement)."""

    async def get(self, id_lookup: str, for_update: bool = False) -> Person | None: ...
    async def add(self, person: Person) -> None:
        """A person first seen; a row ``lock`` made before (or a concurrent first sighting) is taken over."""

    async def save(self, person: Person) -> None:
        """Optimistic on ``version``: raises ConcurrentUpdate when someone changed the person meanwhile."""

    async def record_many(self, identities: list[PersonIdentity]) -> None:
        """A batch chunk's distinct persons at once: the first seen added (audited; a row only locked
        so far, or written meanwhile, is taken over), the known refreshed (``Person.refresh``);
        their hardship groups are left as they are."""


class UsedPresentationRepository(Protocol):
    async def use(self, jti: str, voucher_id: str, institution_id: str, used_at: datetime) -> bool:
        """V2: record the token as used; False when it was used before (by any replica)."""


class VoucherUnitOfWork(AbstractUnitOfWork):
    occupations: OccupationRepository
    institutions: InstitutionRepository
    certificates: CertificateRepository
    vouchers: VoucherRepository
    persons: PersonRepository
    batches: BatchRepository
    presentations: UsedPresentationRepository
    employment: EmploymentRepository
    idempotency: IdempotencyRepository
    audit: AuditLog
