"""A listed batch's chunk on PostgreSQL (COPY, ``unnest`` upserts, one bookkeeping entry per chunk in
the unit of work) stores exactly what the generic SQLite path stores, and a chunk sent again issues
nothing twice (V1, V4, issue 7).

The same chunks go through the real bus and SQL units of work on a fresh SQLite file and a fresh
PostgreSQL database, with the same clock and keys; then every row the chunks wrote (vouchers,
persons, audit records, outbox events, the batch) is read back from both and compared, sealed IDs
compared by what they unseal to (each seal has its own random nonce).
"""

from __future__ import annotations

import asyncio
import functools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from skillpay.actors import Actor, ActorKind
from skillpay.audit_trail import audit_records
from skillpay.cli.sample_data import resident_id
from skillpay.clock import FixedClock, aware
from skillpay.db import COPY_FROM_ROWS, Database, run_migrations
from skillpay.messaging import outbox
from skillpay.pii import PiiVault
from tests.fakes import FakeFundDirectory
from voucher_svc.adapters.events import to_outgoing as voucher_events
from voucher_svc.adapters.tables import batches, persons, vouchers
from voucher_svc.adapters.unit_of_work import SqlVoucherUnitOfWork
from voucher_svc.bootstrap import bootstrap
from voucher_svc.domain.batch import BatchMode
from voucher_svc.domain.model import VoucherKind
from voucher_svc.entrypoints.grpc_server import BATCH_PROGRESS
from voucher_svc.service_layer import commands

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
VAULT = PiiVault(bytes(32), bytes(range(32)))
ADMIN = Actor(ActorKind.ADMIN, "admin-1")
CHUNK = COPY_FROM_ROWS + 100  # large enough for COPY on PostgreSQL


def chunk_persons(seed: int) -> list[tuple[str, str]]:
    rng, rids = random.Random(seed), {}
    while len(rids) < CHUNK:
        rids.setdefault(resident_id(rng), None)
    rows = [(rid, ("张三", "李小明", "欧阳小明")[i % 3]) for i, rid in enumerate(rids)]
    rows[5] = ("110105194912310021", "王五")  # a bad checksum: refused alone
    rows[7] = (rows[6][0], "重名")  # the same person twice in one chunk: the second refused
    return rows


class Service:
    def __init__(self, url: str):
        self.db = Database(url)
        clock = FixedClock(NOW)
        self.uows = functools.partial(SqlVoucherUnitOfWork, self.db, "voucher", voucher_events, None, clock=clock)
        self.bus = bootstrap(self.uows, VAULT, FakeFundDirectory({"esf"}), clock=clock)

    async def chunk(self, batch_id: str, chunk_no: int, rows, request_id: str | None = None):
        return await self.bus.handle(commands.IssueBatchChunk(
            actor=ADMIN.for_request(request_id or f"ibc-{batch_id}-{chunk_no}"), batch_id=batch_id,
            chunk_no=chunk_no, first_row=chunk_no * CHUNK, persons=tuple(rows)), reply=BATCH_PROGRESS)

    async def create(self, batch_id: str):
        await self.bus.handle(commands.CreateBatch(
            actor=ADMIN.for_request(f"create-{batch_id}"), batch_id=batch_id, fund_source="esf", valid_from=None,
            valid_until=NOW + timedelta(days=90), kind=VoucherKind.GENERAL, occupation_code="", level=0,
            institution_id="", mode=BatchMode.LISTED, quota=0))

    async def counts(self) -> dict[str, int]:
        async with self.db.reader.connect() as conn:
            return {t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                    for t in (vouchers, persons, audit_records, outbox)}

    async def stored(self) -> dict[str, list]:
        """Every row the batch wrote, comparable across databases (no generated ids, IDs unsealed)."""
        def plain(row, sealed: str | None = None, leave: tuple[str, ...] = ()) -> dict:
            values = {k: (aware(v) if isinstance(v, datetime) else v) for k, v in row._mapping.items()
                      if k not in leave}
            if sealed:
                values[sealed] = VAULT.unseal(values[sealed])
            return values

        async with self.db.reader.connect() as conn:
            return {
                "vouchers": [plain(r, "holder_id_sealed") for r in
                             await conn.execute(select(vouchers).order_by(vouchers.c.voucher_id))],
                "persons": [plain(r, "id_sealed") for r in
                            await conn.execute(select(persons).order_by(persons.c.id_lookup))],
                "audit": [plain(r, leave=("id",)) for r in
                          await conn.execute(select(audit_records).order_by(audit_records.c.id))],
                "events": [(r.topic, r.event_type, r.aggregate_id) for r in
                           await conn.execute(select(outbox).order_by(outbox.c.id))],
                "batches": [plain(r) for r in await conn.execute(select(batches).order_by(batches.c.batch_id))],
            }


@pytest.fixture
async def services(postgres_databases, tmp_path):
    made = []
    for url in (f"sqlite+aiosqlite:///{tmp_path / 'v.sqlite3'}", postgres_databases.create("v")):
        await asyncio.to_thread(run_migrations, url, ROOT / "voucher_svc" / "migrations")
        made.append(Service(url))
    yield made
    for service in made:
        await service.db.dispose()


async def issue_the_chunks(service: Service) -> list:
    await service.create("b-1")
    await service.create("b-2")
    first, second = chunk_persons(1), chunk_persons(2)
    # The second batch's chunk names persons the first one recorded (a quarter of them, some renamed)
    # and new ones: the known are taken over or refreshed, never audited as first seen again.
    known = [(rid, "赵六" if i % 2 else name) for i, (rid, name) in enumerate(first[10:10 + CHUNK // 4])]
    mixed = known + second[len(known):]
    answers = [await service.chunk("b-1", 0, first), await service.chunk("b-2", 0, mixed)]
    # New persons but one whose row a command only locked so far (L1-L4): taken over, first seen.
    third = chunk_persons(4)
    uow = service.uows()
    async with uow:
        await uow.persons.lock(VAULT.lookup_hash(third[100][0]))
        await uow.commit()
    answers.append(await service.chunk("b-2", 1, third))
    return answers


def progress(p) -> tuple:
    return (p.issued_in_chunk, p.rejected_in_chunk, p.issued_total, p.rejected_total,
            [(r.row, r.field) for r in p.rejections])


@pytest.mark.policy("V1", "V4")
async def test_postgresql_fast_path_stores_the_same_rows_as_the_sqlite_path(services):
    sqlite_service, pg_service = services
    assert sqlite_service.db.is_sqlite and not pg_service.db.is_sqlite

    answers = [await issue_the_chunks(s) for s in services]
    assert [progress(p) for p in answers[0]] == [progress(p) for p in answers[1]]
    assert progress(answers[0][0])[:4] == (CHUNK - 2, 2, CHUNK - 2, 2)

    on_sqlite, on_pg = await sqlite_service.stored(), await pg_service.stored()
    for table in on_sqlite:
        assert on_pg[table] == on_sqlite[table], table
    # What is compared is the real thing: every voucher and first-seen person audited once.
    assert len(on_pg["vouchers"]) == sum(p.issued_in_chunk for p in answers[1]) > 2 * CHUNK
    audited = [(a["aggregate_type"], a["command"], a["state_before"], a["state_after"]) for a in on_pg["audit"]]
    assert audited.count(("voucher", "IssueBatchChunk", "", "issued")) == len(on_pg["vouchers"])
    assert audited.count(("person", "IssueBatchChunk", "", "recorded")) == len(on_pg["persons"])
    assert {a["request_id"] for a in on_pg["audit"] if a["command"] == "IssueBatchChunk"} == {
        "ibc-b-1-0", "ibc-b-2-0", "ibc-b-2-1"}
    renamed = {p["id_lookup"]: p["name"] for p in on_pg["persons"] if p["name"] == "赵六"}
    assert len(renamed) == CHUNK // 8  # known persons with a new name were refreshed
    assert [e[1] for e in on_pg["events"]] == ["voucher.batch_issued"] * 3
    # Every holder is a person (the locked one taken over), each audited once as first seen (above).
    assert len(on_pg["persons"]) == len({v["holder_id_lookup"] for v in on_pg["vouchers"]})


@pytest.mark.policy("V1", "V4")
async def test_a_chunk_sent_again_issues_nothing_twice_on_either_path(services):
    for service in services:
        rows = chunk_persons(3)
        await service.create("b-1")
        first = await service.chunk("b-1", 0, rows)
        before = await service.counts()

        # The same chunk again (a broken stream resent): its first answer, nothing written.
        again = await service.chunk("b-1", 0, rows)
        assert progress(again) == progress(first)
        # The same persons under another chunk number: every row refused as already in the batch.
        other = await service.chunk("b-1", 1, rows)
        assert (other.issued_in_chunk, other.rejected_in_chunk) == (0, CHUNK)
        assert {r.field for r in other.rejections} == {"resident_id"}
        after = await service.counts()
        assert after == before, service.db.url
        assert before["vouchers"] == CHUNK - 2
