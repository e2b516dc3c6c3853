"""Issuance batches through a real voucher_svc process on SQLite and PostgreSQL (V1, V4, V5).

A listed batch streamed in chunks (bad rows and a repeated person refused alone, a chunk sent
again issuing nothing twice), a quota batch claimed concurrently (exactly the quota issued), and
general and targeted vouchers at enrolment.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import grpc
import pytest
from sqlalchemy import text

from skillpay.actors import ActorKind
from skillpay.cli import sample_data
from skillpay.db import Database
from skillpay.ids import derived_id
from skillpay.pii import lookup_hash, person_subject
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc
from tests.integration.test_voucher_grpc import (  # noqa: F401 - fixtures
    CATALOGUE_FROM,
    VALID_UNTIL,
    admin_channel,
    issue_request,
    issuer,
    ledger_server,
    presentation_token,
    signing_key,
    stub,
    violations,
    voucher_server,
)

pytestmark = pytest.mark.integration
CODE, OTHER_CODE = "6-31-01-03", "4-10-01-01"


def rid() -> str:
    return uuid.uuid4().hex


def people(n: int, seed: int) -> list[str]:
    rng, found = random.Random(seed), {}
    while len(found) < n:
        found.setdefault(sample_data.resident_id(rng), None)
    return list(found)


async def create_batch(stub, batch_id: str, **kwargs) -> pb.Batch:
    fields = dict(kind=pb.VOUCHER_KIND_GENERAL, mode=pb.BATCH_MODE_LISTED) | kwargs
    return await stub.CreateBatch(pb.CreateBatchRequest(request_id=rid(), batch_id=batch_id, fund_source="ESF",
                                                        valid_until=VALID_UNTIL, **fields))


def chunks(batch_id: str, persons: list[tuple[str, str]], size: int, start: int = 0):
    for no, first in enumerate(range(0, len(persons), size), start=start):
        yield pb.IssueBatchChunk(batch_id=batch_id, chunk_no=no, first_row=first, persons=[
            pb.BatchPerson(resident_id=r, name=n) for r, n in persons[first:first + size]])


async def stream(stub, requests) -> list[pb.BatchProgress]:
    async def send():
        for request in requests:
            yield request

    return [progress async for progress in stub.IssueBatchVouchers(send())]


async def count_vouchers(url: str, batch_id: str) -> int:
    db = Database(url)
    try:
        async with db.reader.connect() as conn:
            return (await conn.execute(text("SELECT count(*) FROM vouchers WHERE batch_id = :b"),
                                       {"b": batch_id})).scalar_one()
    finally:
        await db.dispose()


@pytest.mark.policy("V1", "V4", "V5")
async def test_a_listed_batch_streamed_in_chunks_refuses_bad_rows_and_a_repeated_person_alone(stub, voucher_server):
    batch = await create_batch(stub, "2025-spring")
    assert (batch.kind, batch.mode, batch.fund_source) == (pb.VOUCHER_KIND_GENERAL, pb.BATCH_MODE_LISTED, "ESF")
    ids = people(3000, seed=11)
    persons = [(r, sample_data.person_name(random.Random(i))) for i, r in enumerate(ids)]
    bad_check_digit = ids[5][:-1] + ("1" if ids[5][-1] != "1" else "2")
    persons[5] = (bad_check_digit, "李四")  # row 5: the check digit is wrong
    persons[1500] = (persons[1500][0], "")  # row 1500: no name
    persons[2999] = persons[10]  # row 2999: the person of row 10 again (another chunk)
    persons[20] = (persons[20][0], "王\u202e五")  # row 20: a reordering character in the name

    progress = await stream(stub, chunks("2025-spring", persons, 1000))

    assert [p.chunk_no for p in progress] == [0, 1, 2]
    assert [(p.issued_in_chunk, p.rejected_in_chunk) for p in progress] == [(998, 2), (999, 1), (999, 1)]
    assert [(p.issued_total, p.rejected_total) for p in progress] == [(998, 2), (1997, 3), (2996, 4)]
    rejected = [(r.row, r.field) for p in progress for r in p.rejections]
    assert rejected == [(5, "resident_id"), (20, "name"), (1500, "name"), (2999, "resident_id")]
    assert "one per person per batch" in progress[2].rejections[0].description
    assert await count_vouchers(voucher_server.url, "2025-spring") == 2996
    after = await stub.GetBatch(pb.GetBatchRequest(batch_id="2025-spring"))
    assert (after.issued_count, after.rejected_count) == (2996, 4)

    # The voucher of a person: its id follows from the batch and the person; audited like any other.
    voucher_id = derived_id("vch", "2025-spring", lookup_hash(voucher_server.lookup_key, ids[0]))
    voucher = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher_id))
    assert (voucher.kind, voucher.occupation_code, voucher.level, voucher.state, voucher.batch_id) == (
        pb.VOUCHER_KIND_GENERAL, "", 0, pb.VOUCHER_STATE_ISSUED, "2025-spring")
    assert voucher.holder_id_masked == ids[0][:6] + "********" + ids[0][-4:]
    trail = await stub.ListAuditRecords(__import__("skillpay.audit.v1.audit_pb2", fromlist=["x"])
                                        .ListAuditRecordsRequest(aggregate_id=voucher_id))
    assert [(r.command, r.state_after) for r in trail.records] == [("IssueBatchChunk", "issued")]
    db = Database(voucher_server.url)
    try:
        async with db.reader.connect() as conn:
            audited = (await conn.execute(text("SELECT count(*) FROM audit_records WHERE aggregate_type = 'voucher'"
                                               ))).scalar_one()
            events = (await conn.execute(text("SELECT count(*) FROM outbox WHERE event_type = 'voucher.batch_issued'"
                                              ))).scalar_one()
            known = (await conn.execute(text("SELECT count(*) FROM persons WHERE id_sealed IS NOT NULL"
                                             ))).scalar_one()
    finally:
        await db.dispose()
    assert (audited, events) == (2996, 3)  # one audit record per voucher, one event per chunk
    assert known == 2996  # V1: every holder is a known person from now on
    person = await stub.GetPerson(pb.GetPersonRequest(resident_id=ids[0]))
    assert (person.name, person.id_masked) == (persons[0][1], voucher.holder_id_masked)
    log = voucher_server.log.read_text()
    assert not any(r in log for r in ids[:50]) and bad_check_digit not in log


@pytest.mark.policy("V1")
async def test_a_chunk_records_new_persons_and_refreshes_known_ones(stub, voucher_server):
    await _catalogue(stub)
    known, renamed, new = people(3, seed=19)
    await stub.IssueVoucher(issue_request(known, name="张三"))  # known before any batch
    await create_batch(stub, "p-1")
    await stream(stub, chunks("p-1", [(known, "张三"), (renamed, "李四"), (new, "王五")], 10))
    await create_batch(stub, "p-2")
    await stream(stub, chunks("p-2", [(known, "张三"), (renamed, "李小四")], 10))
    names = [(await stub.GetPerson(pb.GetPersonRequest(resident_id=r))).name for r in (known, renamed, new)]
    assert names == ["张三", "李小四", "王五"]
    db = Database(voucher_server.url)
    try:
        async with db.reader.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM persons"))).scalar_one()
            audited = (await conn.execute(text(
                "SELECT command, count(*) FROM audit_records WHERE aggregate_type = 'person' GROUP BY command"
                " ORDER BY command"))).all()
    finally:
        await db.dispose()
    assert rows == 3
    assert [tuple(r) for r in audited] == [("IssueBatchChunk", 2), ("IssueVoucher", 1)]  # each when first seen


async def sql(url: str, statement: str, **params) -> list:
    db = Database(url)
    try:
        async with db.writer.begin() as conn:
            result = await conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []
    finally:
        await db.dispose()


@pytest.mark.policy("V1")
async def test_a_chunk_takes_over_lock_only_rows_and_leaves_hardship_groups(stub, voucher_server):
    await _catalogue(stub)
    locked, known, new = people(3, seed=21)
    await stub.IssueVoucher(issue_request(known, name="张三"))
    url = voucher_server.url
    # A row only a lock made (L1-L4) names nobody yet; a known person has hardship groups (A6).
    await sql(url, "INSERT INTO persons (id_lookup, version, hardship_groups) VALUES (:k, 1, '')",
              k=lookup_hash(voucher_server.lookup_key, locked))
    await sql(url, "UPDATE persons SET hardship_groups = 'employment_difficulty' WHERE id_lookup = :k",
              k=lookup_hash(voucher_server.lookup_key, known))
    await create_batch(stub, "lock-rows")
    progress = await stream(stub, chunks("lock-rows", [(locked, "赵六"), (known, "张小三"), (new, "王五")], 10))
    assert progress[0].issued_in_chunk == 3
    for resident_id, name in ((locked, "赵六"), (known, "张小三"), (new, "王五")):
        person = await stub.GetPerson(pb.GetPersonRequest(resident_id=resident_id))
        assert person.name == name
    rows = await sql(url, "SELECT id_lookup, hardship_groups, id_sealed IS NOT NULL FROM persons")
    assert len(rows) == 3 and all(r[2] for r in rows)
    assert {r[0]: r[1] for r in rows}[lookup_hash(voucher_server.lookup_key, known)] == "employment_difficulty"
    audited = await sql(url, "SELECT aggregate_id, state_before, state_after FROM audit_records"
                             " WHERE aggregate_type = 'person' AND command = 'IssueBatchChunk' ORDER BY aggregate_id")
    # First seen: the new person and the one only locked so far, each once; the renamed one not.
    assert sorted(tuple(r) for r in audited) == sorted(
        (lookup_hash(voucher_server.lookup_key, r), "", "recorded") for r in (locked, new))


@pytest.mark.policy("V4")
async def test_a_chunk_sent_again_issues_nothing_twice(stub, voucher_server):
    await create_batch(stub, "resend")
    persons = [(r, "张三") for r in people(1200, seed=12)]
    first = await stream(stub, chunks("resend", persons, 400))
    # The stream broke after chunk 1, say: the caller sends chunks 1 and 2 again in a new stream.
    again = await stream(stub, list(chunks("resend", persons, 400))[1:])
    assert again == first[1:]  # each chunk's first answer, totals as they were then
    assert await count_vouchers(voucher_server.url, "resend") == 1200
    assert (await stub.GetBatch(pb.GetBatchRequest(batch_id="resend"))).issued_count == 1200
    # Every voucher and every (new) person audited exactly once, whatever was sent twice.
    audited = await sql(voucher_server.url, "SELECT aggregate_type, count(*), count(DISTINCT aggregate_id)"
                                            " FROM audit_records WHERE command = 'IssueBatchChunk'"
                                            " GROUP BY aggregate_type ORDER BY aggregate_type")
    assert [tuple(r) for r in audited] == [("person", 1200, 1200), ("voucher", 1200, 1200)]
    # The same chunk number with other persons is another request under the same id: refused.
    other = [(r, "李四") for r in people(10, seed=13)]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stream(stub, chunks("resend", other, 400, start=1))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert await count_vouchers(voucher_server.url, "resend") == 1200


async def test_a_chunk_of_an_unknown_batch_or_from_a_non_admin_stops_the_stream(stub, voucher_server, issuer):
    persons = [(r, "张三") for r in people(3, seed=14)]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stream(stub, chunks("no-such-batch", persons, 10))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    await create_batch(stub, "b")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stream(stub, [pb.IssueBatchChunk(batch_id="b", chunk_no=0, persons=[])])
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "persons" in violations(err.value)
    channel = admin_channel(voucher_server.addr, issuer, ActorKind.INSTITUTION, "ins_1")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stream(voucher_pb2_grpc.VoucherServiceStub(channel), chunks("b", persons, 10))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await channel.close()
    unauthenticated = grpc.aio.insecure_channel(voucher_server.addr)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stream(voucher_pb2_grpc.VoucherServiceStub(unauthenticated), chunks("b", persons, 10))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await unauthenticated.close()
    assert await count_vouchers(voucher_server.url, "b") == 0


@pytest.mark.policy("V4", "V2")
async def test_concurrent_claims_on_a_quota_issue_exactly_the_quota(stub, voucher_server, issuer):
    await create_batch(stub, "quota-7", mode=pb.BATCH_MODE_QUOTA, quota=7)
    claimants = people(20, seed=15)
    repeated = claimants[0]
    attempts = claimants + [repeated] * 4  # one person claims five times at once

    channels = [admin_channel(voucher_server.addr, issuer, ActorKind.PERSON,
                              person_subject(r, voucher_server.lookup_key)) for r in attempts]
    try:
        stubs = [voucher_pb2_grpc.VoucherServiceStub(c) for c in channels]
        await asyncio.gather(*[c.channel_ready() for c in channels])

        async def claim(s, r):
            try:
                return await s.ClaimVoucher(pb.ClaimVoucherRequest(request_id=rid(), batch_id="quota-7",
                                                                   resident_id=r, name="张三"))
            except grpc.aio.AioRpcError as exc:
                return exc

        results = await asyncio.gather(*[claim(s, r) for s, r in zip(stubs, attempts)])
    finally:
        for c in channels:
            await c.close()
    won = [r for r in results if isinstance(r, pb.Voucher)]
    lost = [r for r in results if not isinstance(r, pb.Voucher)]
    assert all(e.code() == grpc.StatusCode.FAILED_PRECONDITION and "quota" in e.details() for e in lost), [
        (e.code(), e.details()) for e in lost]
    assert len({v.voucher_id for v in won}) == 7
    assert await count_vouchers(voucher_server.url, "quota-7") == 7
    assert (await stub.GetBatch(pb.GetBatchRequest(batch_id="quota-7"))).issued_count == 7
    # Whoever of the repeated person's five claims won, they all got the one voucher, or none did.
    theirs = {v.voucher_id for v, r in zip(results, attempts) if r == repeated and isinstance(v, pb.Voucher)}
    assert len(theirs) <= 1


@pytest.mark.policy("V2")
async def test_a_person_claims_only_with_their_own_token(stub, voucher_server, issuer):
    await create_batch(stub, "quota-2", mode=pb.BATCH_MODE_QUOTA, quota=2)
    mine, theirs = people(2, seed=16)
    channel = admin_channel(voucher_server.addr, issuer, ActorKind.PERSON, person_subject(mine, voucher_server.lookup_key))
    try:
        person = voucher_pb2_grpc.VoucherServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await person.ClaimVoucher(pb.ClaimVoucherRequest(request_id=rid(), batch_id="quota-2",
                                                             resident_id=theirs, name="李四"))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        first = await person.ClaimVoucher(pb.ClaimVoucherRequest(request_id=rid(), batch_id="quota-2",
                                                                 resident_id=mine, name="张三"))
        again = await person.ClaimVoucher(pb.ClaimVoucherRequest(request_id=rid(), batch_id="quota-2",
                                                                 resident_id=mine, name="张三"))
        assert again.voucher_id == first.voucher_id
    finally:
        await channel.close()
    assert (await stub.GetBatch(pb.GetBatchRequest(batch_id="quota-2"))).issued_count == 1


async def _catalogue(stub) -> tuple[str, str]:
    for code in (CODE, OTHER_CODE):
        await stub.RegisterOccupation(pb.RegisterOccupationRequest(request_id=rid(), code=code, name="电工", level=4,
                                                                   subsidy_standard_fen=150_000,
                                                                   effective_from=CATALOGUE_FROM))
    both = (await stub.RegisterInstitution(pb.RegisterInstitutionRequest(
        request_id=rid(), name="示范学校", credit_code=sample_data.credit_code(), address="北京",
        occupation_codes=[CODE, OTHER_CODE]))).institution_id
    one = (await stub.RegisterInstitution(pb.RegisterInstitutionRequest(
        request_id=rid(), name="二号学校", credit_code=sample_data.credit_code(), address="北京",
        occupation_codes=[CODE]))).institution_id
    return both, one


async def _issued(stub, voucher_server, batch_id: str, person: str) -> str:
    await stream(stub, chunks(batch_id, [(person, "张三")], 10))
    return derived_id("vch", batch_id, lookup_hash(voucher_server.lookup_key, person))


async def _token(voucher_server, issuer, person: str, voucher_id: str) -> str:
    """V2: a fresh single-use token from the holder's app."""
    return (await presentation_token(voucher_server, issuer, person, voucher_id)).token


@pytest.mark.policy("V4", "A1", "P1", "V2")
async def test_a_general_voucher_is_enrolled_for_the_occupation_chosen_at_enrolment(stub, voucher_server, issuer):
    both, one = await _catalogue(stub)
    await create_batch(stub, "general")
    person = people(1, seed=17)[0]
    voucher_id = await _issued(stub, voucher_server, "general", person)
    with pytest.raises(grpc.aio.AioRpcError) as err:  # V2: not without the holder's token
        await stub.EnrolVoucher(pb.EnrolVoucherRequest(request_id=rid(), voucher_id=voucher_id, institution_id=both,
                                                       real_person_verified=True, occupation_code=OTHER_CODE,
                                                       level=4))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and set(violations(err.value)) == {
        "presentation_token"}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.EnrolVoucher(pb.EnrolVoucherRequest(
            request_id=rid(), voucher_id=voucher_id, institution_id=one, real_person_verified=True,
            presentation_token=await _token(voucher_server, issuer, person, voucher_id)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "occupation_code" in violations(err.value)
    with pytest.raises(grpc.aio.AioRpcError) as err:  # the institution is not approved for it (P1)
        await stub.EnrolVoucher(pb.EnrolVoucherRequest(
            request_id=rid(), voucher_id=voucher_id, institution_id=one, real_person_verified=True,
            occupation_code=OTHER_CODE, level=4,
            presentation_token=await _token(voucher_server, issuer, person, voucher_id)))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    enrolled = await stub.EnrolVoucher(pb.EnrolVoucherRequest(
        request_id=rid(), voucher_id=voucher_id, institution_id=both, real_person_verified=True,
        occupation_code=OTHER_CODE, level=4, presentation_token=await _token(voucher_server, issuer, person, voucher_id)))
    assert (enrolled.state, enrolled.occupation_code, enrolled.level, enrolled.institution_id) == (
        pb.VOUCHER_STATE_ENROLLED, OTHER_CODE, 4, both)


@pytest.mark.policy("V4", "P1")
async def test_a_targeted_voucher_is_refused_at_another_institution(stub, voucher_server, issuer):
    both, one = await _catalogue(stub)
    with pytest.raises(grpc.aio.AioRpcError) as err:  # P1: `one` does not train OTHER_CODE
        await create_batch(stub, "t0", kind=pb.VOUCHER_KIND_TARGETED, occupation_code=OTHER_CODE, level=4,
                           institution_id=one)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    batch = await create_batch(stub, "targeted", kind=pb.VOUCHER_KIND_TARGETED, occupation_code=CODE, level=4,
                               institution_id=one)
    assert (batch.occupation_code, batch.level, batch.institution_id) == (CODE, 4, one)
    person = people(1, seed=18)[0]
    voucher_id = await _issued(stub, voucher_server, "targeted", person)
    voucher = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher_id))
    assert (voucher.kind, voucher.occupation_code, voucher.bound_institution_id) == (pb.VOUCHER_KIND_TARGETED, CODE,
                                                                                     one)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.EnrolVoucher(pb.EnrolVoucherRequest(
            request_id=rid(), voucher_id=voucher_id, institution_id=both, real_person_verified=True,
            presentation_token=await _token(voucher_server, issuer, person, voucher_id)))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "another institution" in err.value.details()
    enrolled = await stub.EnrolVoucher(pb.EnrolVoucherRequest(
        request_id=rid(), voucher_id=voucher_id, institution_id=one, real_person_verified=True,
        presentation_token=await _token(voucher_server, issuer, person, voucher_id)))
    assert enrolled.state == pb.VOUCHER_STATE_ENROLLED


@pytest.mark.policy("V4", "F1")
async def test_a_batch_from_a_fund_the_ledger_has_not_opened_is_refused(stub):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateBatch(pb.CreateBatchRequest(request_id=rid(), batch_id="x", fund_source="NOPE",
                                                     valid_until=VALID_UNTIL, kind=pb.VOUCHER_KIND_GENERAL,
                                                     mode=pb.BATCH_MODE_LISTED))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and set(violations(err.value)) == {"fund_source"}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetBatch(pb.GetBatchRequest(batch_id="x"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
