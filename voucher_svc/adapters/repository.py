"""Repositories for the voucher service: domain objects in, rows out, and back."""

from __future__ import annotations

from sqlalchemy import String, any_, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from skillpay.clock import aware
from skillpay.db import ConcurrentUpdate, bulk_insert
from voucher_svc.adapters.tables import (
    batches,
    certificates,
    institutions,
    occupations,
    persons,
    vouchers,
)
from voucher_svc.domain.batch import Batch, BatchMode
from voucher_svc.domain.eligibility import HistoryEntry
from voucher_svc.domain.model import (
    Certificate,
    CertificateType,
    Institution,
    InstitutionStatus,
    Occupation,
    PersonIdentity,
    Voucher,
    VoucherKind,
    VoucherState,
)


class OccupationRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, o: Occupation) -> None:
        self._track(o, new=True)
        await self._conn.execute(insert(occupations).values(
            code=o.code, level=o.level, name=o.name, subsidy_standard_fen=o.subsidy_standard_fen,
            new_occupation=o.new_occupation, created_at=o.created_at))

    async def get(self, code: str, level: int) -> Occupation | None:
        row = (await self._conn.execute(
            select(occupations).where(occupations.c.code == code, occupations.c.level == level))).first()
        if row is None:
            return None
        return self._track(Occupation(row.code, row.name, row.level, row.subsidy_standard_fen, row.new_occupation,
                                      aware(row.created_at)))

    async def exists_code(self, code: str) -> bool:
        return (await self._conn.execute(select(occupations.c.code).where(occupations.c.code == code).limit(1))).first() is not None

    async def list(self, after: str | None, limit: int) -> list[Occupation]:
        # Keyset on "code|level" so pages follow the catalogue order.
        query = select(occupations).order_by(occupations.c.code, occupations.c.level).limit(limit)
        if after:
            code, level = after.rsplit("|", 1)
            query = query.where((occupations.c.code > code) | ((occupations.c.code == code) & (occupations.c.level > int(level))))
        rows = (await self._conn.execute(query)).all()
        return [Occupation(r.code, r.name, r.level, r.subsidy_standard_fen, r.new_occupation, aware(r.created_at)) for r in rows]


class InstitutionRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, i: Institution) -> None:
        self._track(i, new=True)
        await self._conn.execute(insert(institutions).values(
            institution_id=i.institution_id, name=i.name, credit_code=i.credit_code, address=i.address,
            occupation_codes=",".join(i.occupation_codes), status=i.status.value, created_at=i.created_at))

    async def get(self, institution_id: str) -> Institution | None:
        row = (await self._conn.execute(
            select(institutions).where(institutions.c.institution_id == institution_id))).first()
        return self._track(self._from_row(row)) if row else None

    async def get_by_credit_code(self, credit_code: str) -> Institution | None:
        row = (await self._conn.execute(
            select(institutions).where(institutions.c.credit_code == credit_code))).first()
        return self._from_row(row) if row else None

    @staticmethod
    def _from_row(row) -> Institution:
        return Institution(row.institution_id, row.name, row.credit_code, row.address,
                           [c for c in row.occupation_codes.split(",") if c], InstitutionStatus(row.status),
                           aware(row.created_at))


def _holder(row) -> PersonIdentity:
    return PersonIdentity(row.holder_name, row.holder_id_lookup, row.holder_id_sealed, row.holder_id_masked)


class CertificateRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, c: Certificate) -> None:
        self._track(c, new=True)
        await self._conn.execute(insert(certificates).values(
            certificate_id=c.certificate_id, certificate_number=c.certificate_number,
            certificate_type=c.certificate_type.value, holder_name=c.holder.name,
            holder_id_lookup=c.holder.id_lookup, holder_id_sealed=c.holder.id_sealed,
            holder_id_masked=c.holder.id_masked, occupation_code=c.occupation_code, level=c.level,
            issued_on=c.issued_on, recorded_at=c.recorded_at, redeemed_voucher_id=c.redeemed_voucher_id))

    async def get(self, certificate_id: str, for_update: bool = False) -> Certificate | None:
        query = select(certificates).where(certificates.c.certificate_id == certificate_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return self._track(self._from_row(row)) if row else None

    async def find_by_number(self, certificate_type: CertificateType, number: str) -> Certificate | None:
        row = (await self._conn.execute(select(certificates).where(
            certificates.c.certificate_type == certificate_type.value,
            certificates.c.certificate_number == number))).first()
        return self._from_row(row) if row else None

    async def mark_redeemed(self, c: Certificate) -> None:
        # V3: the guard in the WHERE clause keeps a certificate from redeeming two vouchers.
        result = await self._conn.execute(
            update(certificates)
            .where(certificates.c.certificate_id == c.certificate_id, certificates.c.redeemed_voucher_id.is_(None))
            .values(redeemed_voucher_id=c.redeemed_voucher_id))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"certificate {c.certificate_id} changed concurrently")

    @staticmethod
    def _from_row(row) -> Certificate:
        return Certificate(row.certificate_id, row.certificate_number, CertificateType(row.certificate_type),
                           _holder(row), row.occupation_code, row.level, row.issued_on, aware(row.recorded_at),
                           row.redeemed_voucher_id)


class VoucherRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, v: Voucher) -> None:
        self._track(v, new=True)
        await self._conn.execute(insert(vouchers).values(**self._values(v), version=0))

    async def add_many(self, many: list[Voucher]) -> None:
        """A batch chunk's vouchers in one statement (COPY on PostgreSQL); each audited as added."""
        for v in many:
            self._track(v, new=True)
        await bulk_insert(self._conn, vouchers, [{**self._values(v), "version": 0} for v in many])

    async def existing_ids(self, voucher_ids: set[str]) -> set[str]:
        """Which of these ids are already issued (one query; a chunk asks for its few thousand)."""
        if not voucher_ids:
            return set()
        if self._conn.dialect.name == "postgresql":
            # One array parameter: thousands of IN parameters cost more to render than to look up.
            wanted = vouchers.c.voucher_id == any_(bindparam("ids", list(voucher_ids), type_=ARRAY(String)))
        else:
            wanted = vouchers.c.voucher_id.in_(voucher_ids)
        return {r.voucher_id for r in await self._conn.execute(select(vouchers.c.voucher_id).where(wanted))}

    async def get(self, voucher_id: str, for_update: bool = False) -> Voucher | None:
        query = select(vouchers).where(vouchers.c.voucher_id == voucher_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return self._track(self._from_row(row)) if row else None

    async def save(self, v: Voucher) -> None:
        """Optimistic: the update applies only if nobody changed the voucher since we read it."""
        result = await self._conn.execute(
            update(vouchers).where(vouchers.c.voucher_id == v.voucher_id, vouchers.c.version == v.version)
            .values(**self._values(v), version=v.version + 1))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"voucher {v.voucher_id} changed concurrently")
        v.version += 1

    async def list(self, after: str | None, limit: int, state: VoucherState | None) -> list[Voucher]:
        query = select(vouchers).order_by(vouchers.c.voucher_id).limit(limit)
        if after:
            query = query.where(vouchers.c.voucher_id > after)
        if state is not None:
            query = query.where(vouchers.c.state == state.value)
        return [self._from_row(r) for r in (await self._conn.execute(query)).all()]

    async def history(self, id_lookup: str) -> list[HistoryEntry]:
        """L1-L4: every voucher of one person, with the date of the certificate that redeemed it."""
        query = (select(vouchers.c.voucher_id, vouchers.c.occupation_code, vouchers.c.level, vouchers.c.state,
                        vouchers.c.valid_until, certificates.c.issued_on)
                 .select_from(vouchers.outerjoin(certificates,
                                                 certificates.c.certificate_id == vouchers.c.certificate_id))
                 .where(vouchers.c.holder_id_lookup == id_lookup))
        return [HistoryEntry(r.voucher_id, r.occupation_code, r.level, VoucherState(r.state), r.issued_on,
                             aware(r.valid_until))
                for r in (await self._conn.execute(query)).all()]

    @staticmethod
    def _values(v: Voucher) -> dict:
        return dict(
            voucher_id=v.voucher_id, holder_name=v.holder.name, holder_id_lookup=v.holder.id_lookup,
            holder_id_sealed=v.holder.id_sealed, holder_id_masked=v.holder.id_masked,
            occupation_code=v.occupation_code, level=v.level, fund_source=v.fund_source, batch_id=v.batch_id,
            state=v.state.value, institution_id=v.institution_id, real_person_verified=v.real_person_verified,
            certificate_id=v.certificate_id, value_fen=v.value_fen, issued_at=v.issued_at,
            valid_until=v.valid_until, enrolled_at=v.enrolled_at, redeemed_at=v.redeemed_at,
            paid_at=v.paid_at, payment_id=v.payment_id, payout_failure_reason=v.payout_failure_reason,
            kind=v.kind.value, bound_institution_id=v.bound_institution_id, valid_from=v.valid_from)

    @staticmethod
    def _from_row(r) -> Voucher:
        return Voucher(
            voucher_id=r.voucher_id, holder=_holder(r), occupation_code=r.occupation_code, level=r.level,
            fund_source=r.fund_source, batch_id=r.batch_id, issued_at=aware(r.issued_at),
            valid_until=aware(r.valid_until), state=VoucherState(r.state), institution_id=r.institution_id,
            real_person_verified=r.real_person_verified, certificate_id=r.certificate_id, value_fen=r.value_fen,
            enrolled_at=aware(r.enrolled_at), redeemed_at=aware(r.redeemed_at), paid_at=aware(r.paid_at),
            payment_id=r.payment_id, payout_failure_reason=r.payout_failure_reason, kind=VoucherKind(r.kind),
            bound_institution_id=r.bound_institution_id, valid_from=aware(r.valid_from), version=r.version)


class BatchRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, b: Batch) -> None:
        self._track(b, new=True)
        await self._conn.execute(insert(batches).values(**self._values(b), version=0))

    async def get(self, batch_id: str, for_update: bool = False) -> Batch | None:
        """With ``for_update`` the batch's row stays locked until the transaction ends: chunks and
        claims of one batch take their turns, so its counts and quota stay exact."""
        query = select(batches).where(batches.c.batch_id == batch_id)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        return self._track(self._from_row(row)) if row else None

    async def save(self, b: Batch) -> None:
        result = await self._conn.execute(
            update(batches).where(batches.c.batch_id == b.batch_id, batches.c.version == b.version)
            .values(**self._values(b), version=b.version + 1))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"batch {b.batch_id} changed concurrently")
        b.version += 1

    @staticmethod
    def _values(b: Batch) -> dict:
        return dict(batch_id=b.batch_id, fund_source=b.fund_source, valid_from=b.valid_from,
                    valid_until=b.valid_until, kind=b.kind.value, occupation_code=b.occupation_code, level=b.level,
                    institution_id=b.institution_id, mode=b.mode.value, quota=b.quota,
                    issued_count=b.issued_count, rejected_count=b.rejected_count, created_at=b.created_at)

    @staticmethod
    def _from_row(r) -> Batch:
        return Batch(r.batch_id, r.fund_source, aware(r.valid_from), aware(r.valid_until), VoucherKind(r.kind),
                     r.occupation_code, r.level, r.institution_id, BatchMode(r.mode), r.quota,
                     aware(r.created_at), r.issued_count, r.rejected_count, version=r.version)


class PersonRepository:
    """The per-person lock of L1-L4 (issue 7: commands changing an entitlement are serialised per person)."""

    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def lock(self, id_lookup: str) -> None:
        """Hold the person's row until this transaction ends; a second caller waits here.

        One upsert that always updates: on PostgreSQL it takes the row lock (a concurrent insert of
        the same key waits for the first to commit, then updates); on SQLite every write
        transaction already holds the database lock (BEGIN IMMEDIATE), so this only keeps the row.
        """
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(persons).values(id_lookup=id_lookup, version=1)
        await self._conn.execute(statement.on_conflict_do_update(
            index_elements=[persons.c.id_lookup], set_={"version": persons.c.version + 1}))
