"""In-memory units of work for the service-layer tests: no database, no network.

A ``FakeDatabase`` is what a service's database would hold (its tables, the outbox, the audit
trail, the idempotency keys); every ``Fake*UnitOfWork`` made for it shares it, as every
``SqlUnitOfWork`` of a process shares one database. The outermost begin takes a
``copy.deepcopy`` snapshot of all of it and a rollback puts the snapshot back, so a failed
handler leaves nothing behind, exactly what tests want to assert (inner levels join the outer
transaction, as in SQL).

The repositories behave like the SQL ones in ``<svc>/adapters/repository.py``: they hand out
copies (never the stored object, so a handler that forgets to ``save`` changes nothing), call
``track(entity, new=True)`` on add and ``track(entity)`` on the gets that the SQL ones track,
check the optimistic ``version`` on save and raise ``ConcurrentUpdate`` when it does not match,
and raise ``IntegrityError`` where a primary key or unique constraint would.

The ledger's fake journal is the pre-engine journal, read only (C8), as the SQL one: money moves
as transfers of the real, pure engine, which the fake transfer repository only loads and stores.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError

from claim_svc.adapters.events import to_outgoing as claim_events
from claim_svc.domain.model import Claim, ClaimState
from claim_svc.service_layer.unit_of_work import (
    ClaimUnitOfWork,
    PayoutOutcome,
    PendingTopUp,
    PendingWithdrawal,
)
from ledger_svc.adapters.events import to_outgoing as ledger_events
from ledger_svc.adapters.repository import fund_balances
from ledger_svc.domain import transfers as engine
from ledger_svc.domain.model import (
    Fund,
    FundBalances,
    JournalEntry,
    Payment,
    PaymentState,
)
from ledger_svc.service_layer.unit_of_work import LedgerUnitOfWork
from skillpay.aggregate import Aggregate, Entity
from skillpay.audit_trail import AuditRecord
from skillpay.clock import Clock
from skillpay.db import ConcurrentUpdate
from skillpay.errors import Unavailable
from skillpay.messaging import OutgoingEvent, StoredResponse
from skillpay.uow import AbstractUnitOfWork, EventMapper
from voucher_svc.adapters.events import to_outgoing as voucher_events
from voucher_svc.domain.batch import Batch
from voucher_svc.domain.catalogue_query import InstitutionFilter, OccupationFilter
from voucher_svc.domain.eligibility import HistoryEntry
from voucher_svc.domain.employment import EmploymentRecord
from voucher_svc.domain.model import (
    UNUSED_STATES,
    Certificate,
    CertificateType,
    Institution,
    Occupation,
    PersonIdentity,
    Voucher,
    VoucherState,
    version_in_force,
)
from voucher_svc.domain.person import Person
from voucher_svc.service_layer.unit_of_work import VoucherUnitOfWork


def _duplicate(table: str, key) -> IntegrityError:
    return IntegrityError(f"INSERT INTO {table}", {"key": key}, Exception(f"UNIQUE constraint failed: {table}"))


def _detached(entity):
    """A copy with no pending domain events: what a row holds, or what reading a row gives back."""
    clone = copy.deepcopy(entity)
    if isinstance(clone, Aggregate):
        clone.pending_events.clear()
    return clone


# -- the in-memory database --------------------------------------------------------------------
class FakeDatabase:
    """One service's database: named tables (dicts keyed like the primary key), outbox, audit, keys."""

    TABLES: tuple[str, ...] = ()

    def __init__(self):
        self.tables: dict[str, dict] = {name: {} for name in self.TABLES}
        self.outbox: list[OutgoingEvent] = []
        self.audit_records: list[AuditRecord] = []
        self.idempotency: dict[str, StoredResponse] = {}
        self.commits = 0
        self.rollbacks = 0

    def snapshot(self):
        return copy.deepcopy((self.tables, self.outbox, self.audit_records, self.idempotency))

    def restore(self, snapshot) -> None:
        self.tables, self.outbox, self.audit_records, self.idempotency = snapshot

    # conveniences for assertions
    def audit_for(self, aggregate_id: str) -> list[AuditRecord]:
        return [r for r in self.audit_records if r.aggregate_id == aggregate_id]

    def events_of_type(self, event_type: str) -> list[OutgoingEvent]:
        return [e for e in self.outbox if e.event_type == event_type]


class FakeIdempotencyStore:
    def __init__(self, db: FakeDatabase):
        self._db = db

    async def get(self, request_id: str) -> StoredResponse | None:
        return self._db.idempotency.get(request_id)

    async def put(self, request_id: str, method: str, fingerprint: str, response: bytes) -> None:
        if request_id in self._db.idempotency:
            raise _duplicate("idempotency_keys", request_id)
        self._db.idempotency[request_id] = StoredResponse(method, fingerprint, response)


class FakeAuditLog:
    def __init__(self, db: FakeDatabase):
        self._db = db

    async def add(self, records: list[AuditRecord]) -> None:
        for record in records:
            self._db.audit_records.append(dataclasses.replace(record, record_id=len(self._db.audit_records) + 1))

    async def add_rows(self, rows: list[tuple]) -> None:
        await self.add([AuditRecord(*row) for row in rows])

    async def list(self, aggregate_id: str, after: int, limit: int) -> list[AuditRecord]:
        return [r for r in self._db.audit_records if r.aggregate_id == aggregate_id and r.record_id > after][:limit]


# -- the unit of work --------------------------------------------------------------------------
class FakeUnitOfWork(AbstractUnitOfWork):
    """The abstract hooks in memory; subclasses build their repositories in ``_open_repositories``."""

    DATABASE: type[FakeDatabase] = FakeDatabase
    EVENT_MAPPER: EventMapper = staticmethod(lambda event: ())

    def __init__(self, db: FakeDatabase | None = None, clock: Clock | None = None,
                 event_mapper: EventMapper | None = None, read_only: bool = False):
        super().__init__(event_mapper or type(self).EVENT_MAPPER, clock)
        self.db = db if db is not None else self.DATABASE()
        self.read_only = read_only
        self._snapshots: list = []
        self.committed = False
        self.idempotency = FakeIdempotencyStore(self.db)
        self.audit = FakeAuditLog(self.db)
        self._open_repositories()

    @classmethod
    def factory(cls, clock: Clock, db: FakeDatabase | None = None) -> UnitOfWorkFactory:
        """What ``bootstrap`` takes: a new unit of work per call, all on one (fresh) database."""
        return UnitOfWorkFactory(cls, db if db is not None else cls.DATABASE(), clock)

    def _open_repositories(self) -> None:  # pragma: no cover - overridden
        pass

    # what tests read
    @property
    def written_events(self) -> list[OutgoingEvent]:
        return self.db.outbox

    @property
    def audit_records(self) -> list[AuditRecord]:
        return self.db.audit_records

    async def add_event(self, event: OutgoingEvent) -> None:
        self.db.outbox.append(event)

    # the abstract hooks
    async def _begin(self) -> None:
        self._snapshots.append(self.db.snapshot())

    async def _commit(self) -> None:
        self._snapshots.pop()
        self.db.commits += 1
        self.committed = True

    async def _rollback(self) -> None:
        self.db.restore(self._snapshots.pop())
        self.db.rollbacks += 1

    async def _write(self, outgoing: list[OutgoingEvent], audit: list[AuditRecord]) -> None:
        self.db.outbox.extend(outgoing)
        await self.audit.add(audit)


class UnitOfWorkFactory:
    def __init__(self, uow_class: type[FakeUnitOfWork], db: FakeDatabase, clock: Clock):
        self.uow_class = uow_class
        self.db = db
        self.clock = clock
        self.made: list[FakeUnitOfWork] = []

    def __call__(self, read_only: bool = False) -> FakeUnitOfWork:
        uow = self.uow_class(self.db, clock=self.clock, read_only=read_only)
        self.made.append(uow)
        return uow


class _Table:
    """Common ground of the in-memory repositories."""

    TABLE = ""

    def __init__(self, uow: FakeUnitOfWork):
        self._uow = uow

    @property
    def rows(self) -> dict:
        return self._uow.db.tables[self.TABLE]

    def _insert(self, key, entity: Entity) -> None:
        if key in self.rows:
            raise _duplicate(self.TABLE, key)
        self.rows[key] = _detached(entity)

    def _update_versioned(self, key, entity) -> None:
        stored = self.rows.get(key)
        if stored is None or stored.version != entity.version:
            raise ConcurrentUpdate(f"{self.TABLE} {key} changed concurrently")
        entity.version += 1
        self.rows[key] = _detached(entity)

    def _read(self, key, track: bool = True):
        stored = self.rows.get(key)
        if stored is None:
            return None
        entity = _detached(stored)
        return self._uow.track(entity) if track else entity

    @staticmethod
    def _page(items: Iterable, key: Callable, after, limit: int) -> list:
        ordered = sorted(items, key=key)
        if after:
            ordered = [i for i in ordered if key(i) > after]
        return [_detached(i) for i in ordered[:limit]]


# -- voucher_svc -------------------------------------------------------------------------------
class FakeVoucherDatabase(FakeDatabase):
    TABLES = ("occupations", "occupation_versions", "institutions", "certificates", "vouchers", "persons",
              "used_presentation_tokens", "employment", "batches")

    def __init__(self):
        super().__init__()
        self.person_locks: list[str] = []  # lookup hashes, in the order commands locked them


class FakeOccupationRepository(_Table):
    """Entries in "occupations" (keyed (code, level)); versions in "occupation_versions" (keyed (code, level,
    version))."""

    TABLE = "occupation_versions"

    @property
    def entries(self) -> dict:
        return self._uow.db.tables["occupations"]

    def _versions(self, code: str, level: int) -> list[Occupation]:
        return sorted((o for (c, lv, _), o in self.rows.items() if (c, lv) == (code, level)), key=lambda o: o.version)

    async def add(self, occupation: Occupation) -> None:
        key = (occupation.code, occupation.level)
        if key in self.entries:
            raise _duplicate("occupations", key)
        self.entries[key] = occupation.created_at
        await self.add_version(occupation)

    async def add_version(self, occupation: Occupation) -> None:
        self._uow.track(occupation, new=True)
        if (occupation.code, occupation.level) not in self.entries:
            raise _duplicate("occupation_versions", "no such entry")  # the foreign key
        if any(o.effective_from == occupation.effective_from
               for o in self._versions(occupation.code, occupation.level)):
            raise _duplicate(self.TABLE, occupation.effective_from)  # uq_occupation_version_start
        self._insert((occupation.code, occupation.level, occupation.version), occupation)

    async def close(self, occupation: Occupation) -> None:
        stored = self.rows.get((occupation.code, occupation.level, occupation.version))
        if stored is None or stored.effective_to is not None:
            raise ConcurrentUpdate(f"occupation {occupation.code}|{occupation.level} was revised concurrently")
        stored.effective_to = occupation.effective_to

    async def get(self, code: str, level: int) -> Occupation | None:
        versions = self._versions(code, level)
        return self._uow.track(_detached(versions[-1])) if versions else None

    async def in_force(self, code: str, level: int, on: date) -> Occupation | None:
        found = version_in_force(self._versions(code, level), on)
        return _detached(found) if found else None

    async def exists_code(self, code: str) -> bool:
        return any(c == code for c, _ in self.entries)

    async def list(self, after: tuple[str, int] | None, limit: int, on: date,
                   filters: OccupationFilter) -> list[Occupation]:
        ordered = sorted((o for o in self.rows.values() if o.in_force_on(on)
                          and o.code.startswith(filters.code_prefix)
                          and (not filters.level or o.level == filters.level)
                          and (not filters.region or o.region == filters.region)),
                         key=lambda o: (o.code, o.level))
        if after:
            ordered = [o for o in ordered if (o.code, o.level) > after]
        return [_detached(o) for o in ordered[:limit]]


class FakeInstitutionRepository(_Table):
    TABLE = "institutions"

    async def add(self, institution: Institution) -> None:
        self._uow.track(institution, new=True)
        if any(i.credit_code == institution.credit_code for i in self.rows.values()):
            raise _duplicate(self.TABLE, institution.credit_code)
        self._insert(institution.institution_id, institution)

    async def get(self, institution_id: str, for_update: bool = False, for_share: bool = False) -> Institution | None:
        return self._read(institution_id)

    async def save(self, institution: Institution) -> None:
        self._update_versioned(institution.institution_id, institution)

    async def get_by_credit_code(self, credit_code: str) -> Institution | None:
        found = next((i for i in self.rows.values() if i.credit_code == credit_code), None)
        return _detached(found) if found else None

    async def list(self, after: str | None, limit: int, filters: InstitutionFilter) -> list[Institution]:
        items = [i for i in self.rows.values()
                 if (filters.status is None or i.status is filters.status)
                 and (not filters.region or i.region == filters.region)
                 and (not filters.occupation_code or filters.occupation_code in i.occupation_codes)
                 and filters.name_contains in i.name]
        return self._page(items, lambda i: i.institution_id, after, limit)


class FakeCertificateRepository(_Table):
    TABLE = "certificates"

    async def add(self, certificate: Certificate) -> None:
        self._uow.track(certificate, new=True)
        if await self.find_by_number(certificate.certificate_type, certificate.certificate_number):
            raise _duplicate(self.TABLE, certificate.certificate_number)
        self._insert(certificate.certificate_id, certificate)

    async def get(self, certificate_id: str, for_update: bool = False) -> Certificate | None:
        return self._read(certificate_id)

    async def find_by_number(self, certificate_type: CertificateType, number: str) -> Certificate | None:
        found = next((c for c in self.rows.values()
                      if c.certificate_type is certificate_type and c.certificate_number == number), None)
        return _detached(found) if found else None

    async def mark_redeemed(self, certificate: Certificate) -> None:
        # Like the SQL guard (V3): only a certificate that has not redeemed a voucher yet.
        stored = self.rows.get(certificate.certificate_id)
        if stored is None or stored.redeemed_voucher_id is not None:
            raise ConcurrentUpdate(f"certificate {certificate.certificate_id} changed concurrently")
        stored.redeemed_voucher_id = certificate.redeemed_voucher_id

    async def release(self, certificate: Certificate, voucher_id: str) -> None:
        stored = self.rows.get(certificate.certificate_id)
        if stored is None or stored.redeemed_voucher_id != voucher_id:
            raise ConcurrentUpdate(f"certificate {certificate.certificate_id} changed concurrently")
        stored.redeemed_voucher_id = None


class FakeVoucherRepository(_Table):
    TABLE = "vouchers"

    async def add(self, voucher: Voucher) -> None:
        self._uow.track(voucher, new=True)
        self._check_certificate_unique(voucher)
        self._insert(voucher.voucher_id, voucher)

    def _check_certificate_unique(self, voucher: Voucher) -> None:
        if voucher.certificate_id and any(v.certificate_id == voucher.certificate_id
                                          and v.voucher_id != voucher.voucher_id for v in self.rows.values()):
            raise _duplicate(self.TABLE, voucher.certificate_id)

    async def add_many(self, vouchers: list[Voucher]) -> None:
        for voucher in vouchers:
            await self.add(voucher)

    async def existing_ids(self, voucher_ids: set[str]) -> set[str]:
        return {i for i in voucher_ids if i in self.rows}

    async def get(self, voucher_id: str, for_update: bool = False) -> Voucher | None:
        return self._read(voucher_id)

    async def save(self, voucher: Voucher) -> None:
        self._check_certificate_unique(voucher)
        self._update_versioned(voucher.voucher_id, voucher)

    async def list(self, after: str | None, limit: int, state: VoucherState | None,
                   holder_lookup: str | None = None) -> list[Voucher]:
        items = [v for v in self.rows.values() if (state is None or v.state is state)
                 and (holder_lookup is None or v.holder.id_lookup == holder_lookup)]
        return self._page(items, lambda v: v.voucher_id, after, limit)

    async def due_for_expiry(self, now: datetime, limit: int) -> list[Voucher]:
        due = sorted((v for v in self.rows.values() if v.state in UNUSED_STATES and v.valid_until <= now),
                     key=lambda v: (v.valid_until, v.voucher_id))[:limit]
        return [self._read(v.voucher_id) for v in due]

    async def history(self, id_lookup: str) -> list[HistoryEntry]:
        certificates = self._uow.db.tables["certificates"]
        return [HistoryEntry.of(v, certificates[v.certificate_id].issued_on if v.certificate_id else None)
                for v in self.rows.values() if v.holder.id_lookup == id_lookup]


    async def trained_at(self, id_lookup: str, institution_id: str) -> bool:
        return any(v.holder.id_lookup == id_lookup and v.institution_id == institution_id for v in self.rows.values())

    async def subsidised_of(self, id_lookup: str) -> list[Voucher]:
        # Tracked like the SQL one: a top-up is audited.
        return [self._read(v.voucher_id) for v in sorted(self.rows.values(), key=lambda v: v.voucher_id)
                if v.holder.id_lookup == id_lookup and v.state in (VoucherState.REDEEMED, VoucherState.PAID)]


class FakeBatchRepository(_Table):
    TABLE = "batches"

    async def add(self, batch: Batch) -> None:
        self._uow.track(batch, new=True)
        self._insert(batch.batch_id, batch)

    async def get(self, batch_id: str, for_update: bool = False) -> Batch | None:
        return self._read(batch_id)

    async def save(self, batch: Batch) -> None:
        self._update_versioned(batch.batch_id, batch)


class FakeEmploymentRepository(_Table):
    TABLE = "employment"

    async def add(self, record: EmploymentRecord) -> None:
        self._uow.track(record, new=True)
        self._insert(record.employment_id, record)

    async def get(self, employment_id: str) -> EmploymentRecord | None:
        return self._read(employment_id, track=False)

    async def start_dates(self, id_lookup: str) -> list:
        return [e.start_date for e in self.rows.values() if e.person.id_lookup == id_lookup]

    async def of_person(self, id_lookup: str, after: str | None, limit: int) -> list[EmploymentRecord]:
        mine = [e for e in self.rows.values() if e.person.id_lookup == id_lookup]
        mine.sort(key=lambda e: e.employment_id)
        mine.sort(key=lambda e: e.start_date, reverse=True)
        if after:
            day, last_id = after.split("|", 1)
            mine = [e for e in mine if e.start_date.isoformat() < day
                    or (e.start_date.isoformat() == day and e.employment_id > last_id)]
        return [_detached(e) for e in mine[:limit]]


class FakePersonRepository(_Table):
    """Persons; the in-memory database runs one unit of work at a time, so the lock records who was locked."""

    TABLE = "persons"

    async def lock(self, id_lookup: str) -> None:
        self._uow.db.person_locks.append(id_lookup)

    async def get(self, id_lookup: str, for_update: bool = False) -> Person | None:
        return self._read(id_lookup)

    async def add(self, person: Person) -> None:
        self._uow.track(person, new=True)
        person.version = 1
        self.rows[person.id_lookup] = _detached(person)

    async def save(self, person: Person) -> None:
        self._update_versioned(person.id_lookup, person)

    async def record_many(self, identities: list[PersonIdentity]) -> None:
        for identity in identities:
            stored = self.rows.get(identity.id_lookup)
            if stored is None:
                person = Person.register(identity)
                self._uow.track(person, new=True)
                person.version = 1
                self.rows[person.id_lookup] = _detached(person)
            else:
                stored = _detached(stored)
                if stored.refresh(identity):  # only the identity is taken over
                    stored.version += 1
                    self.rows[identity.id_lookup] = stored


class FakeUsedPresentationRepository(_Table):
    TABLE = "used_presentation_tokens"

    async def use(self, jti: str, voucher_id: str, institution_id: str, used_at) -> bool:
        if jti in self.rows:
            return False
        self.rows[jti] = (voucher_id, institution_id, used_at)
        return True


class FakeVoucherUnitOfWork(FakeUnitOfWork, VoucherUnitOfWork):
    DATABASE = FakeVoucherDatabase
    EVENT_MAPPER = staticmethod(voucher_events)

    def _open_repositories(self) -> None:
        self.occupations = FakeOccupationRepository(self)
        self.institutions = FakeInstitutionRepository(self)
        self.certificates = FakeCertificateRepository(self)
        self.vouchers = FakeVoucherRepository(self)
        self.persons = FakePersonRepository(self)
        self.batches = FakeBatchRepository(self)
        self.presentations = FakeUsedPresentationRepository(self)
        self.employment = FakeEmploymentRepository(self)


# -- claim_svc ---------------------------------------------------------------------------------
class FakeFundDirectory:
    """The ledger's funds as the voucher service sees them (voucher_svc/service_layer/funds.py)."""

    def __init__(self, known: Iterable[str] = (), reachable: bool = True):
        self.known = set(known)
        self.reachable = reachable
        self.asked: list[str] = []

    async def is_known(self, fund_code: str) -> bool:
        self.asked.append(fund_code)
        if not self.reachable:
            raise Unavailable("the ledger cannot be reached to check fund_source; try again")
        return fund_code in self.known


class FakeClaimDatabase(FakeDatabase):
    TABLES = ("claims", "payout_outcomes", "pending_top_ups", "pending_withdrawals")


class FakeClaimRepository(_Table):
    TABLE = "claims"

    async def add(self, claim: Claim) -> None:
        self._uow.track(claim, new=True)
        if claim.voucher_id and any(c.voucher_id == claim.voucher_id for c in self.rows.values()):
            raise _duplicate(self.TABLE, claim.voucher_id)
        self._insert(claim.claim_id, claim)

    async def get(self, claim_id: str, for_update: bool = False) -> Claim | None:
        return self._read(claim_id)

    async def save(self, claim: Claim) -> None:
        self._update_versioned(claim.claim_id, claim)

    async def list(self, after: str | None, limit: int, voucher_id: str = "",
                   state: ClaimState | None = None) -> list[Claim]:
        items = [c for c in self.rows.values()
                 if (not voucher_id or c.voucher_id == voucher_id) and (state is None or c.state is state)]
        return self._page(items, lambda c: c.claim_id, after, limit)


class FakePayoutOutcomeRepository(_Table):
    TABLE = "payout_outcomes"

    async def record(self, outcome: PayoutOutcome) -> bool:
        if outcome.payout_request_id in self.rows:
            return False
        self.rows[outcome.payout_request_id] = outcome
        return True

    async def for_claim(self, claim_id: str) -> list[PayoutOutcome]:
        return sorted((o for o in self.rows.values() if o.claim_id == claim_id), key=lambda o: o.occurred_at)


class FakePendingTopUpRepository(_Table):
    TABLE = "pending_top_ups"

    async def add(self, top_up: PendingTopUp) -> bool:
        if top_up.top_up_id in self.rows:
            return False
        self.rows[top_up.top_up_id] = top_up
        return True

    async def for_claim(self, claim_id: str) -> list[PendingTopUp]:
        return sorted((t for t in self.rows.values() if t.claim_id == claim_id), key=lambda t: t.occurred_at)


class FakePendingWithdrawalRepository(_Table):
    TABLE = "pending_withdrawals"

    async def add(self, withdrawal: PendingWithdrawal) -> bool:
        key = (withdrawal.voucher_id, withdrawal.redemption_id)
        if key in self.rows:
            return False
        self.rows[key] = withdrawal
        return True

    async def for_claim(self, claim_id: str) -> list[PendingWithdrawal]:
        return sorted((w for w in self.rows.values() if w.claim_id == claim_id), key=lambda w: w.occurred_at)


class FakeClaimUnitOfWork(FakeUnitOfWork, ClaimUnitOfWork):
    DATABASE = FakeClaimDatabase
    EVENT_MAPPER = staticmethod(claim_events)

    def _open_repositories(self) -> None:
        self.claims = FakeClaimRepository(self)
        self.payout_outcomes = FakePayoutOutcomeRepository(self)
        self.pending_top_ups = FakePendingTopUpRepository(self)
        self.pending_withdrawals = FakePendingWithdrawalRepository(self)


# -- ledger_svc --------------------------------------------------------------------------------
class FakeLedgerDatabase(FakeDatabase):
    # journal: the pre-engine journal (read only; tests may put entries in it)
    TABLES = ("funds", "journal", "payments", "ledger_accounts", "transfers")


class FakeFundRepository(_Table):
    TABLE = "funds"

    async def add(self, fund: Fund) -> None:
        self._uow.track(fund, new=True)
        self._insert(fund.fund_code, fund)

    async def get(self, fund_code: str) -> Fund | None:
        return self._read(fund_code, track=False)  # the SQL repository does not track funds it reads

    async def list(self, after: str | None, limit: int) -> list[Fund]:
        return self._page(self.rows.values(), lambda f: f.fund_code, after, limit)

    async def balances(self, fund_code: str) -> FundBalances:
        return fund_balances(a for a in self._uow.db.tables["ledger_accounts"].values() if a.ledger == fund_code)


class FakeJournalRepository(_Table):
    """The pre-engine journal: read only."""

    TABLE = "journal"

    async def list(self, after: str | None, limit: int, fund_code: str = "") -> list[JournalEntry]:
        items = [e for e in self.rows.values() if not fund_code or e.fund_code == fund_code]
        return self._page(items, lambda e: e.entry_id, after, limit)


class FakePaymentRepository(_Table):
    TABLE = "payments"

    async def add(self, payment: Payment) -> None:
        self._uow.track(payment, new=True)
        live = payment.claim_line_id if payment.live else ""
        if live and any(p.live and p.claim_line_id == live for p in self.rows.values()):
            raise ConcurrentUpdate(f"claim line {live} has a live payout")  # the SQL unique index
        self._insert(payment.payment_id, payment)

    async def get(self, payment_id: str, for_update: bool = False) -> Payment | None:
        return self._read(payment_id)

    async def get_many(self, payment_ids, for_update: bool = False) -> list[Payment]:
        return [p for p in (self._read(i) for i in sorted(set(payment_ids))) if p is not None]

    async def live_for_claim_line(self, claim_line_id: str) -> str | None:
        return next((pid for pid, p in sorted(self.rows.items()) if p.live and p.claim_line_id == claim_line_id),
                    None)

    async def save(self, payment: Payment) -> None:
        self._update_versioned(payment.payment_id, payment)

    async def ids_in_state(self, states: list[PaymentState], limit: int) -> list[str]:
        return sorted(pid for pid, p in self.rows.items() if p.state in states)[:limit]

    async def list(self, after: str | None, limit: int, state: PaymentState | None = None,
                   reference: tuple[str, str] | None = None) -> list[Payment]:
        items = [p for p in self.rows.values()
                 if (state is None or p.state is state)
                 and (reference is None or p.references.get(reference[0]) == reference[1])]
        return self._page(items, lambda p: p.payment_id, after, limit)


class FakeTransferRepository(_Table):
    """The engine's accounts and transfers in memory; ``apply_transfers`` (the real, pure engine)
    decides, this only loads and stores like SqlTransferRepository. ``loads`` counts batches."""

    TABLE = "ledger_accounts"

    @property
    def _transfers(self) -> dict:
        return self._uow.db.tables["transfers"]

    async def add_accounts(self, new, created_at) -> None:
        for account in new:
            self._insert(account.id, account)

    async def accounts(self, ids):
        return sorted((self.rows[i] for i in set(ids) if i in self.rows), key=lambda a: a.id)

    async def ledger_accounts(self, ledger: str):
        return sorted((a for a in self.rows.values() if a.ledger == ledger), key=lambda a: a.id)

    def _status(self) -> dict:
        status = {t.id: engine.PendingStatus.PENDING for t in self._transfers.values()
                  if t.flags & engine.TransferFlags.PENDING}
        for t in self._transfers.values():
            if t.flags & engine.TransferFlags.POST_PENDING_TRANSFER:
                status[t.pending_id] = engine.PendingStatus.POSTED
            elif t.flags & engine.TransferFlags.VOID_PENDING_TRANSFER:
                status[t.pending_id] = engine.PendingStatus.VOIDED
        return status

    async def load_for(self, batch):
        self._uow.db.transfer_batches = getattr(self._uow.db, "transfer_batches", 0) + 1
        return dict(self.rows), dict(self._transfers), self._status()

    async def save(self, outcome) -> None:
        for t in outcome.created:
            if t.id in self._transfers:
                raise _duplicate("transfers", t.id)
            self._transfers[t.id] = t
        self.rows.update(outcome.accounts)

    async def known_ids(self, ids) -> set[str]:
        return {i for i in ids if i in self._transfers}

    async def verify(self):
        recomputed = engine.balances_from_transfers(self.rows.values(), self._transfers.values(), self._status())
        differences = [engine.BalanceDifference(a.id, stored, recomputed[a.id]) for a in self.rows.values()
                       if (stored := (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted))
                       != recomputed[a.id]]
        return differences, len(self.rows), len(self._transfers)


class FakeLedgerUnitOfWork(FakeUnitOfWork, LedgerUnitOfWork):
    DATABASE = FakeLedgerDatabase
    EVENT_MAPPER = staticmethod(ledger_events)

    def _open_repositories(self) -> None:
        self.funds = FakeFundRepository(self)
        self.journal = FakeJournalRepository(self)
        self.payments = FakePaymentRepository(self)
        self.transfers = FakeTransferRepository(self)
