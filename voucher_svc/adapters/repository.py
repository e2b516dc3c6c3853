"""Repositories for the voucher service: domain objects in, rows out, and back."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import LargeBinary, String, any_, bindparam, case, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from skillpay.clock import aware
from skillpay.db import COPY_FROM_ROWS, ConcurrentUpdate, bulk_insert_records
from voucher_svc.adapters.tables import (
    batches,
    certificates,
    employment_records,
    institutions,
    occupation_versions,
    occupations,
    persons,
    used_presentation_tokens,
    vouchers,
)
from voucher_svc.domain.batch import Batch, BatchMode
from voucher_svc.domain.catalogue_query import InstitutionFilter, OccupationFilter
from voucher_svc.domain.eligibility import HistoryEntry
from voucher_svc.domain.employment import EmploymentRecord, EmploymentSource
from voucher_svc.domain.model import (
    BankAccount,
    Certificate,
    CertificateType,
    Institution,
    InstitutionNature,
    InstitutionStatus,
    Occupation,
    PersonIdentity,
    UNUSED_STATES,
    Voucher,
    VoucherKind,
    VoucherState,
)
from voucher_svc.domain.person import HardshipGroup, Person


class OccupationRepository:
    """A1: catalogue entries and their dated versions (both dates inclusive, no end for the latest)."""

    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, o: Occupation) -> None:
        await self._conn.execute(insert(occupations).values(code=o.code, level=o.level, created_at=o.created_at))
        await self.add_version(o)

    async def add_version(self, o: Occupation) -> None:
        self._track(o, new=True)
        await self._conn.execute(insert(occupation_versions).values(
            code=o.code, level=o.level, version=o.version, name=o.name, subsidy_standard_fen=o.subsidy_standard_fen,
            new_occupation=o.new_occupation, min_class_hours=o.min_class_hours,
            practical_oriented=o.practical_oriented, region=o.region, effective_from=o.effective_from,
            effective_to=o.effective_to, created_at=o.created_at))

    async def close(self, o: Occupation) -> None:
        # Only the latest version (no end yet) gets one; a concurrent revision got there first otherwise.
        result = await self._conn.execute(
            update(occupation_versions)
            .where(occupation_versions.c.code == o.code, occupation_versions.c.level == o.level,
                   occupation_versions.c.version == o.version, occupation_versions.c.effective_to.is_(None))
            .values(effective_to=o.effective_to))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"occupation {o.code}|{o.level} was revised concurrently")

    def _entry(self, code: str, level: int):
        return select(occupation_versions).where(occupation_versions.c.code == code,
                                                 occupation_versions.c.level == level)

    async def get(self, code: str, level: int) -> Occupation | None:
        row = (await self._conn.execute(
            self._entry(code, level).order_by(occupation_versions.c.version.desc()).limit(1))).first()
        return self._track(self._from_row(row)) if row else None

    async def in_force(self, code: str, level: int, on: date) -> Occupation | None:
        row = (await self._conn.execute(self._entry(code, level).where(*_in_force_on(on)))).first()
        return self._from_row(row) if row else None

    async def exists_code(self, code: str) -> bool:
        return (await self._conn.execute(select(occupations.c.code).where(occupations.c.code == code).limit(1))).first() is not None

    async def list(self, after: tuple[str, int] | None, limit: int, on: date,
                   filters: OccupationFilter) -> list[Occupation]:
        v = occupation_versions
        # Keyset on (code, level) so pages follow the catalogue order.
        query = select(v).where(*_in_force_on(on)).order_by(v.c.code, v.c.level).limit(limit)
        if after:
            code, level = after
            query = query.where((v.c.code > code) | ((v.c.code == code) & (v.c.level > level)))
        if filters.code_prefix:
            query = query.where(v.c.code.startswith(filters.code_prefix, autoescape=True))
        if filters.level:
            query = query.where(v.c.level == filters.level)
        if filters.region:
            query = query.where(v.c.region == filters.region)
        return [self._from_row(r) for r in (await self._conn.execute(query)).all()]

    @staticmethod
    def _from_row(r) -> Occupation:
        return Occupation(r.code, r.name, r.level, r.subsidy_standard_fen, r.new_occupation, aware(r.created_at),
                          r.min_class_hours, r.practical_oriented, r.region, r.effective_from, r.effective_to,
                          r.version)


def _in_force_on(on: date) -> tuple:
    v = occupation_versions
    return v.c.effective_from <= on, or_(v.c.effective_to.is_(None), v.c.effective_to >= on)


class InstitutionRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, i: Institution) -> None:
        self._track(i, new=True)
        await self._conn.execute(insert(institutions).values(
            institution_id=i.institution_id, credit_code=i.credit_code, created_at=i.created_at,
            occupation_codes=",".join(i.occupation_codes), **self._values(i), version=0))

    async def get(self, institution_id: str, for_update: bool = False, for_share: bool = False) -> Institution | None:
        query = select(institutions).where(institutions.c.institution_id == institution_id)
        if for_update:
            query = query.with_for_update()
        elif for_share:
            query = query.with_for_update(read=True)  # PostgreSQL FOR SHARE; SQLite's writer lock covers it
        row = (await self._conn.execute(query)).first()
        return self._track(self._from_row(row)) if row else None

    async def save(self, i: Institution) -> None:
        """Optimistic: the update applies only if nobody changed the institution since we read it."""
        result = await self._conn.execute(
            update(institutions)
            .where(institutions.c.institution_id == i.institution_id, institutions.c.version == i.version)
            .values(**self._values(i), version=i.version + 1))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"institution {i.institution_id} changed concurrently")
        i.version += 1

    async def get_by_credit_code(self, credit_code: str) -> Institution | None:
        row = (await self._conn.execute(
            select(institutions).where(institutions.c.credit_code == credit_code))).first()
        return self._from_row(row) if row else None

    async def list(self, after: str | None, limit: int, filters: InstitutionFilter) -> list[Institution]:
        t = institutions
        query = select(t).order_by(t.c.institution_id).limit(limit)
        if after:
            query = query.where(t.c.institution_id > after)
        if filters.status is not None:
            query = query.where(t.c.status == filters.status.value)
        if filters.region:
            query = query.where(t.c.region == filters.region)
        if filters.occupation_code:
            # The codes are stored comma-separated, and a code never holds a comma.
            query = query.where(("," + t.c.occupation_codes + ",").contains(f",{filters.occupation_code},",
                                                                              autoescape=True))
        if filters.name_contains:
            query = query.where(t.c.name.contains(filters.name_contains, autoescape=True))
        return [self._from_row(r) for r in (await self._conn.execute(query)).all()]

    @staticmethod
    def _values(i: Institution) -> dict:
        account = i.bank_account
        return {"name": i.name, "address": i.address, "status": i.status.value, "nature": i.nature.value,
                "region": i.region, "bank_account_number": account.account_number if account else None,
                "bank_account_name": account.account_name if account else None,
                "bank_code": account.bank_code if account else None, "status_reason": i.status_reason,
                "status_changed_at": i.status_changed_at}

    @staticmethod
    def _from_row(row) -> Institution:
        account = (BankAccount(row.bank_account_number, row.bank_account_name, row.bank_code)
                   if row.bank_account_number else None)
        return Institution(row.institution_id, row.name, row.credit_code, row.address,
                           [c for c in row.occupation_codes.split(",") if c], InstitutionStatus(row.status),
                           aware(row.created_at), InstitutionNature(row.nature), row.region, account,
                           row.status_reason, aware(row.status_changed_at), version=row.version)


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
            issued_on=c.issued_on, recorded_at=c.recorded_at, redeemed_voucher_id=c.redeemed_voucher_id,
            issuer=c.issuer))

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

    async def release(self, c: Certificate, voucher_id: str) -> None:
        # Guarded like mark_redeemed: only the voucher that holds the certificate frees it.
        result = await self._conn.execute(
            update(certificates)
            .where(certificates.c.certificate_id == c.certificate_id, certificates.c.redeemed_voucher_id == voucher_id)
            .values(redeemed_voucher_id=None))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"certificate {c.certificate_id} changed concurrently")

    @staticmethod
    def _from_row(row) -> Certificate:
        return Certificate(row.certificate_id, row.certificate_number, CertificateType(row.certificate_type),
                           _holder(row), row.occupation_code, row.level, row.issued_on, aware(row.recorded_at),
                           row.redeemed_voucher_id, issuer=row.issuer)


def _one_by_one(track):
    """``track_new`` for a caller that passed only ``track``."""
    def track_new(entities) -> None:
        for e in entities:
            track(e, new=True)
    return track_new


class VoucherRepository:
    def __init__(self, conn: AsyncConnection, track, track_new=None):
        self._conn = conn
        self._track = track
        self._track_new = track_new or _one_by_one(track)

    async def add(self, v: Voucher) -> None:
        self._track(v, new=True)
        await self._conn.execute(insert(vouchers).values(**self._values(v), version=0))

    async def add_many(self, many: list[Voucher]) -> None:
        """A batch chunk's vouchers in one statement (COPY on PostgreSQL); each audited as added."""
        if not many:
            return
        self._track_new(many)
        record = self._record
        await bulk_insert_records(self._conn, vouchers, VOUCHER_COLUMNS, [record(v) for v in many])

    async def existing_ids(self, voucher_ids: set[str]) -> set[str]:
        """Which of these ids are already issued (one query; a chunk asks for its few thousand)."""
        if not voucher_ids:
            return set()
        wanted = _any_of(self._conn, vouchers.c.voucher_id, voucher_ids)
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

    async def list(self, after: str | None, limit: int, state: VoucherState | None,
                   holder_lookup: str | None = None) -> list[Voucher]:
        query = select(vouchers).order_by(vouchers.c.voucher_id).limit(limit)
        if after:
            query = query.where(vouchers.c.voucher_id > after)
        if state is not None:
            query = query.where(vouchers.c.state == state.value)
        if holder_lookup is not None:
            query = query.where(vouchers.c.holder_id_lookup == holder_lookup)
        return [self._from_row(r) for r in (await self._conn.execute(query)).all()]

    async def due_for_expiry(self, now: datetime, limit: int) -> list[Voucher]:
        rows = (await self._conn.execute(due_for_expiry_query(now, limit))).all()
        return [self._track(self._from_row(r)) for r in rows]

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

    async def trained_at(self, id_lookup: str, institution_id: str) -> bool:
        query = (select(vouchers.c.voucher_id)
                 .where(vouchers.c.holder_id_lookup == id_lookup, vouchers.c.institution_id == institution_id)
                 .limit(1))
        return (await self._conn.execute(query)).first() is not None

    async def subsidised_of(self, id_lookup: str) -> list[Voucher]:
        query = (select(vouchers).where(vouchers.c.holder_id_lookup == id_lookup,
                                        vouchers.c.state.in_([VoucherState.REDEEMED.value, VoucherState.PAID.value]))
                 .order_by(vouchers.c.voucher_id))
        return [self._track(self._from_row(r)) for r in (await self._conn.execute(query)).all()]

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
            rate_percent=v.rate_percent, valuation_rule=v.valuation_rule, standard_fen=v.standard_fen,
            employment_window_start=v.employment_window_start, employment_window_end=v.employment_window_end,
            topped_up_fen=v.topped_up_fen, topped_up_at=v.topped_up_at,
            redemption_no=v.redemption_no, state_reason=v.state_reason, ended_at=v.ended_at,
            recovery_due_fen=v.recovery_due_fen, recovery_payment_ids=" ".join(v.recovery_payment_ids),
            kind=v.kind.value, bound_institution_id=v.bound_institution_id, valid_from=v.valid_from)

    @staticmethod
    def _record(v: Voucher) -> tuple:
        """``_values(v)`` and version 0 as a tuple in the order of VOUCHER_COLUMNS (no dict per row)."""
        h = v.holder
        return (v.voucher_id, h.name, h.id_lookup, h.id_sealed, h.id_masked, v.occupation_code, v.level,
                v.fund_source, v.batch_id, v.state.value, v.institution_id, v.real_person_verified,
                v.certificate_id, v.value_fen, v.issued_at, v.valid_until, v.enrolled_at, v.redeemed_at,
                v.paid_at, v.payment_id, v.payout_failure_reason, v.rate_percent, v.valuation_rule,
                v.standard_fen, v.employment_window_start, v.employment_window_end, v.topped_up_fen,
                v.topped_up_at, v.redemption_no, v.state_reason, v.ended_at, v.recovery_due_fen,
                " ".join(v.recovery_payment_ids), v.kind.value, v.bound_institution_id, v.valid_from, 0)

    @staticmethod
    def _from_row(r) -> Voucher:
        return Voucher(
            voucher_id=r.voucher_id, holder=_holder(r), occupation_code=r.occupation_code, level=r.level,
            fund_source=r.fund_source, batch_id=r.batch_id, issued_at=aware(r.issued_at),
            valid_until=aware(r.valid_until), state=VoucherState(r.state), institution_id=r.institution_id,
            real_person_verified=r.real_person_verified, certificate_id=r.certificate_id, value_fen=r.value_fen,
            enrolled_at=aware(r.enrolled_at), redeemed_at=aware(r.redeemed_at), paid_at=aware(r.paid_at),
            payment_id=r.payment_id, payout_failure_reason=r.payout_failure_reason, rate_percent=r.rate_percent,
            valuation_rule=r.valuation_rule, standard_fen=r.standard_fen,
            employment_window_start=r.employment_window_start, employment_window_end=r.employment_window_end,
            topped_up_fen=r.topped_up_fen, topped_up_at=aware(r.topped_up_at),
            redemption_no=r.redemption_no, state_reason=r.state_reason, ended_at=aware(r.ended_at),
            recovery_due_fen=r.recovery_due_fen, recovery_payment_ids=tuple(r.recovery_payment_ids.split()),
            kind=VoucherKind(r.kind), bound_institution_id=r.bound_institution_id, valid_from=aware(r.valid_from),
            version=r.version)


# The columns of VoucherRepository._record, in its order: _values' keys, then version.
VOUCHER_COLUMNS = [
    "voucher_id", "holder_name", "holder_id_lookup", "holder_id_sealed", "holder_id_masked", "occupation_code",
    "level", "fund_source", "batch_id", "state", "institution_id", "real_person_verified", "certificate_id",
    "value_fen", "issued_at", "valid_until", "enrolled_at", "redeemed_at", "paid_at", "payment_id",
    "payout_failure_reason", "rate_percent", "valuation_rule", "standard_fen", "employment_window_start",
    "employment_window_end", "topped_up_fen", "topped_up_at", "redemption_no", "state_reason", "ended_at",
    "recovery_due_fen", "recovery_payment_ids", "kind", "bound_institution_id", "valid_from", "version"]


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


class EmploymentRepository:
    def __init__(self, conn: AsyncConnection, track):
        self._conn = conn
        self._track = track

    async def add(self, e: EmploymentRecord) -> None:
        self._track(e, new=True)
        await self._conn.execute(insert(employment_records).values(
            employment_id=e.employment_id, person_name=e.person.name, person_id_lookup=e.person.id_lookup,
            person_id_sealed=e.person.id_sealed, person_id_masked=e.person.id_masked,
            employer_credit_code=e.employer_credit_code, employer_name=e.employer_name, start_date=e.start_date,
            source=e.source.value, recorded_by=e.recorded_by, recorded_at=e.recorded_at))

    async def get(self, employment_id: str) -> EmploymentRecord | None:
        row = (await self._conn.execute(
            select(employment_records).where(employment_records.c.employment_id == employment_id))).first()
        return self._from_row(row) if row else None

    async def start_dates(self, id_lookup: str) -> list[date]:
        rows = await self._conn.execute(select(employment_records.c.start_date)
                                        .where(employment_records.c.person_id_lookup == id_lookup))
        return [r.start_date for r in rows]

    async def of_person(self, id_lookup: str, after: str | None, limit: int) -> list[EmploymentRecord]:
        e = employment_records.c
        query = (select(employment_records).where(e.person_id_lookup == id_lookup)
                 .order_by(e.start_date.desc(), e.employment_id).limit(limit))
        if after:
            day, employment_id = after.split("|", 1)
            start = date.fromisoformat(day)
            query = query.where((e.start_date < start) | ((e.start_date == start) & (e.employment_id > employment_id)))
        return [self._from_row(r) for r in await self._conn.execute(query)]

    @staticmethod
    def _from_row(r) -> EmploymentRecord:
        person = PersonIdentity(r.person_name, r.person_id_lookup, r.person_id_sealed, r.person_id_masked)
        return EmploymentRecord(r.employment_id, person, r.employer_credit_code, r.employer_name, r.start_date,
                                EmploymentSource(r.source), r.recorded_by, aware(r.recorded_at))


def _dialect(conn: AsyncConnection):
    return postgresql if conn.dialect.name == "postgresql" else sqlite


def due_for_expiry_query(now: datetime, limit: int):
    """V5: FOR UPDATE SKIP LOCKED on PostgreSQL, so concurrent sweeps take different rows
    (SQLAlchemy leaves the clause out on SQLite, whose single writer serialises the sweeps)."""
    return (select(vouchers)
            .where(vouchers.c.state.in_([s.value for s in UNUSED_STATES]),
                   vouchers.c.valid_until <= now.astimezone(UTC))  # stored in UTC
            .order_by(vouchers.c.valid_until, vouchers.c.voucher_id).limit(limit)
            .with_for_update(skip_locked=True))


def _any_of(conn: AsyncConnection, column, values: set[str]):
    """``column`` is one of ``values`` (a batch chunk's few thousand strings)."""
    if conn.dialect.name == "postgresql":
        # One array parameter: thousands of IN parameters cost more to render than to look up.
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    return column.in_(values)


class PersonRepository:
    """Persons (V1), and the per-person lock of L1-L4 (commands changing an entitlement are serialised per person)."""

    def __init__(self, conn: AsyncConnection, track, track_new=None):
        self._conn = conn
        self._track = track
        self._track_new = track_new or _one_by_one(track)

    async def lock(self, id_lookup: str) -> None:
        """Hold the person's row until this transaction ends; a second caller waits here.

        One upsert that always updates: on PostgreSQL it takes the row lock (a concurrent insert of
        the same key waits for the first to commit, then updates); on SQLite every write
        transaction already holds the database lock (BEGIN IMMEDIATE), so this only keeps the row.
        The update leaves ``version`` as it is: that is the person's own optimistic version.
        """
        statement = _dialect(self._conn).insert(persons).values(id_lookup=id_lookup, version=1)
        await self._conn.execute(statement.on_conflict_do_update(
            index_elements=[persons.c.id_lookup], set_={"version": persons.c.version}))

    async def get(self, id_lookup: str, for_update: bool = False) -> Person | None:
        query = select(persons).where(persons.c.id_lookup == id_lookup)
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        if row is None or row.id_sealed is None:
            return None  # unknown, or only locked so far
        return self._track(self._from_row(row))

    async def add(self, p: Person) -> None:
        self._track(p, new=True)
        statement = _dialect(self._conn).insert(persons).values(id_lookup=p.id_lookup, version=1, **self._values(p))
        # A row lock() made first, or a concurrent first sighting of the same person: take it over.
        statement = statement.on_conflict_do_update(index_elements=[persons.c.id_lookup], set_=self._values(p))
        p.version = (await self._conn.execute(statement.returning(persons.c.version))).scalar_one()

    async def save(self, p: Person) -> None:
        result = await self._conn.execute(
            update(persons).where(persons.c.id_lookup == p.id_lookup, persons.c.version == p.version)
            .values(**self._values(p), version=p.version + 1))
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"person {p.id_lookup[:8]} changed concurrently")
        p.version += 1

    async def record_many(self, identities: list[PersonIdentity]) -> None:
        """V1, in bulk (a batch chunk's thousands of distinct persons): each one first seen is added
        and audited (also over a row only ``lock`` made so far), each known one whose name changed
        takes the new identity (as ``Person.refresh``). Only the identity columns are written, so
        hardship groups set meanwhile stay; ``version`` moves on for an updated row, so an
        optimistic save of a copy read before this fails (and is retried) rather than undoing it.
        No row is locked beforehand: a row written meanwhile by another command is taken over."""
        if not identities:
            return
        if self._conn.dialect.name == "postgresql":
            first_seen = await self._record_many_postgresql(identities)
        else:
            first_seen = await self._record_many_sqlite(identities)
        self._track_new([Person.register(identity) for identity in first_seen])

    async def _record_many_postgresql(self, identities: list[PersonIdentity]) -> list[PersonIdentity]:
        if len(identities) >= COPY_FROM_ROWS and await self._copy_if_all_new(identities):
            return identities
        return await self._upsert_many_postgresql(identities)

    async def _copy_if_all_new(self, identities: list[PersonIdentity]) -> bool:
        """A batch's persons are mostly all new: one COPY (several times cheaper for PostgreSQL than
        the upsert) under a savepoint. The primary key decides: if any person has a row already
        (known, or only locked so far, or inserted meanwhile), nothing of it stays and the caller
        upserts instead; otherwise every one of them was first seen here."""
        try:
            async with self._conn.begin_nested():
                await bulk_insert_records(self._conn, persons, ["id_lookup", "name", "id_sealed", "id_masked",
                                                                "version"],
                                          [(i.id_lookup, i.name, i.id_sealed, i.id_masked, 1) for i in identities])
        except IntegrityError:
            return False
        return True

    async def _upsert_many_postgresql(self, identities: list[PersonIdentity]) -> list[PersonIdentity]:
        # No look-up first: the insert says which persons are new, and only the rest (none, for a
        # batch of new persons) are matched by the updates. Sorted by key, so two chunks naming
        # the same persons take their row locks in the same order; the first seen are given back
        # in the caller's order (their audit records follow it, as on SQLite).
        given = _unnest_identities(sorted(identities, key=lambda i: i.id_lookup))
        inserting = (
            postgresql.insert(persons).from_select(
                ["id_lookup", "name", "id_sealed", "id_masked", "version"],
                select(given.c.id_lookup, given.c.name, given.c.id_sealed, given.c.id_masked, literal(1)))
            .on_conflict_do_nothing(index_elements=[persons.c.id_lookup])
            .returning(persons.c.id_lookup).cte("inserted"))
        # One row back, not one per person: the keys inserted only when some were not (known persons).
        count, keys = (await self._conn.execute(select(func.count(), case(
            (func.count() < len(identities), func.array_agg(inserting.c.id_lookup)))))).one()
        if count == len(identities):
            return identities
        inserted = set(keys or ())  # array_agg of no rows is NULL
        known = sorted((i for i in identities if i.id_lookup not in inserted), key=lambda i: i.id_lookup)
        given = _unnest_identities(known)
        identity_now = {"name": given.c.name, "id_sealed": given.c.id_sealed, "id_masked": given.c.id_masked,
                        "version": persons.c.version + 1}
        # Two updates, each rechecked on the row as it is once its lock is got (READ COMMITTED),
        # so a row only locked so far is first seen (audited) and a refresh never is.
        taken_over = set((await self._conn.execute(
            update(persons).where(persons.c.id_lookup == given.c.id_lookup, persons.c.id_sealed.is_(None))
            .values(identity_now).returning(persons.c.id_lookup))).scalars())
        await self._conn.execute(
            update(persons).where(persons.c.id_lookup == given.c.id_lookup, persons.c.id_sealed.is_not(None),
                                  or_(persons.c.name.is_distinct_from(given.c.name),
                                      persons.c.id_masked.is_distinct_from(given.c.id_masked)))
            .values(identity_now))
        return [i for i in identities if i.id_lookup in inserted or i.id_lookup in taken_over]

    async def _record_many_sqlite(self, identities: list[PersonIdentity]) -> list[PersonIdentity]:
        # The writer holds the database lock for the whole transaction: look up, then write.
        by_key = {i.id_lookup: i for i in identities}
        rows = await self._conn.execute(select(persons).where(persons.c.id_lookup.in_(by_key),
                                                              persons.c.id_sealed.is_not(None)))
        known = {r.id_lookup: self._from_row(r) for r in rows}
        first_seen = [i for k, i in by_key.items() if k not in known]
        refreshed = [p.identity for p in known.values() if p.refresh(by_key[p.id_lookup])]
        rows = [{"id_lookup": i.id_lookup, "name": i.name, "id_sealed": i.id_sealed, "id_masked": i.id_masked,
                 "version": 1} for i in [*first_seen, *refreshed]]
        if rows:
            statement = sqlite.insert(persons)
            await self._conn.execute(statement.on_conflict_do_update(index_elements=[persons.c.id_lookup], set_={
                "name": statement.excluded.name, "id_sealed": statement.excluded.id_sealed,
                "id_masked": statement.excluded.id_masked, "version": persons.c.version + 1}), rows)
        return first_seen

    @staticmethod
    def _from_row(row) -> Person:
        return Person(row.id_lookup, row.name, row.id_sealed, row.id_masked,
                      frozenset(HardshipGroup(g) for g in row.hardship_groups.split(",") if g),
                      row.hardship_effective_from, version=row.version)

    @staticmethod
    def _values(p: Person) -> dict:
        return {"name": p.name, "id_sealed": p.id_sealed, "id_masked": p.id_masked,
                "hardship_groups": ",".join(sorted(g.value for g in p.hardship_groups)),
                "hardship_effective_from": p.hardship_effective_from}


def _unnest_identities(identities: list[PersonIdentity]):
    """The identities as rows of one table-valued ``unnest`` over four array parameters: thousands
    of rows cost one statement, not an executemany."""
    return func.unnest(*(bindparam(None, values, type_=ARRAY(kind)) for values, kind in (
        ([i.id_lookup for i in identities], String), ([i.name for i in identities], String),
        ([i.id_sealed for i in identities], LargeBinary), ([i.id_masked for i in identities], String),
    ))).table_valued("id_lookup", "name", "id_sealed", "id_masked").render_derived()


class UsedPresentationRepository:
    """V2: presentation tokens once used. The primary key decides, across every replica."""

    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def use(self, jti: str, voucher_id: str, institution_id: str, used_at) -> bool:
        statement = _dialect(self._conn).insert(used_presentation_tokens).values(
            jti=jti, voucher_id=voucher_id, institution_id=institution_id, used_at=used_at)
        # A concurrent use of the same token waits for the first to commit, then inserts nothing.
        result = await self._conn.execute(statement.on_conflict_do_nothing(index_elements=["jti"]))
        return result.rowcount == 1
