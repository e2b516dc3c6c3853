"""Presentation tokens (V2), persons (V1, X1) and certificate roles (V3) through a real voucher_svc
process on SQLite and PostgreSQL; and migration 0007 filling persons and issuers from existing rows."""

from __future__ import annotations

import asyncio
import random
import struct
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from alembic import command
from alembic.config import Config
from google.rpc import error_details_pb2
from sqlalchemy import text

import voucher_svc
from skillpay.actors import ActorKind
from skillpay.cli import sample_data
from skillpay.db import Database, run_migrations
from skillpay.pii import PiiVault
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc
from tests.integration.test_voucher_grpc import (  # noqa: F401 - fixtures
    _catalogue,
    admin_channel,
    certificate_request,
    details,
    issue_request,
    issuer,
    ledger_server,
    person_channel,
    presentation_token,
    signing_key,
    stub,
    voucher_server,
)

pytestmark = pytest.mark.integration
ROOT_MIGRATIONS = Path(voucher_svc.__file__).resolve().parent / "migrations"


def rid() -> str:
    return uuid.uuid4().hex


def precondition(exc: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    found = []
    for detail in details(exc).details:
        if detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            found += [(v.type, v.description) for v in failure.violations]
    return found


async def count(server, sql: str) -> int:
    db = Database(server.url)
    try:
        async with db.reader.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await db.dispose()


@pytest.mark.policy("V2", "X1")
async def test_V2_ten_concurrent_enrolments_with_one_token_exactly_one_succeeds(stub, voucher_server, issuer):
    institution = await _catalogue(stub)
    resident_id = sample_data.resident_id(random.Random(31))
    voucher = await stub.IssueVoucher(issue_request(resident_id))
    token = (await presentation_token(voucher_server, issuer, resident_id, voucher.voucher_id)).token
    channels = [admin_channel(voucher_server.addr, issuer, ActorKind.INSTITUTION, institution) for _ in range(10)]
    try:
        stubs = [voucher_pb2_grpc.VoucherServiceStub(c) for c in channels]
        # Every channel connected first, so the ten enrolments reach the server together.
        await asyncio.gather(*[s.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id)) for s in stubs])

        async def enrol(s):
            try:
                return await s.EnrolVoucher(pb.EnrolVoucherRequest(
                    request_id=rid(), voucher_id=voucher.voucher_id, institution_id=institution,
                    real_person_verified=True, presentation_token=token))
            except grpc.aio.AioRpcError as exc:
                return exc

        results = await asyncio.gather(*[enrol(s) for s in stubs])
    finally:
        for c in channels:
            await c.close()
    wins = [r for r in results if isinstance(r, pb.Voucher)]
    losses = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(wins) == 1, [(r.code(), r.details()) for r in losses]
    assert wins[0].state == pb.VOUCHER_STATE_ENROLLED and wins[0].real_person_verified
    for loss in losses:
        assert loss.code() == grpc.StatusCode.FAILED_PRECONDITION, loss.details()
        [(rule, reason)] = precondition(loss)
        assert rule == "V2" and "already used" in reason
    assert await count(voucher_server, "SELECT count(*) FROM used_presentation_tokens") == 1


@pytest.mark.policy("V2")
async def test_V2_the_token_comes_with_a_qr_png_and_a_retry_of_the_enrolment_is_answered_as_before(
        stub, voucher_server, issuer):
    institution = await _catalogue(stub)
    resident_id = sample_data.resident_id(random.Random(32))
    voucher = await stub.IssueVoucher(issue_request(resident_id))
    issued = await presentation_token(voucher_server, issuer, resident_id, voucher.voucher_id)
    assert issued.voucher_id == voucher.voucher_id
    left = issued.expires_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(seconds=240) < left <= timedelta(seconds=300)  # VOUCHER_PRESENTATION_TTL_S default
    png = issued.qr_png
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    modules = width // 4 - 2 * 4  # 4 pixels a module, a quiet zone of 4 modules
    assert width == height and width % 4 == 0 and (modules - 17) % 4 == 0
    request = pb.EnrolVoucherRequest(request_id=rid(), voucher_id=voucher.voucher_id, institution_id=institution,
                                     real_person_verified=True, presentation_token=issued.token)
    first = await stub.EnrolVoucher(request)
    assert await stub.EnrolVoucher(request) == first  # the same request: its first answer, not "used"
    request.request_id = rid()
    with pytest.raises(grpc.aio.AioRpcError) as err:  # another request with the used token
        await stub.EnrolVoucher(request)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and precondition(err.value)[0][0] == "V2"


@pytest.mark.policy("V2")
async def test_V2_a_token_of_another_voucher_or_another_persons_request_is_refused(stub, voucher_server, issuer):
    institution = await _catalogue(stub)
    holder, other = sample_data.resident_id(random.Random(33)), sample_data.resident_id(random.Random(34))
    voucher, others = await stub.IssueVoucher(issue_request(holder)), await stub.IssueVoucher(issue_request(other))
    with pytest.raises(grpc.aio.AioRpcError) as err:  # someone asks for a token of a voucher not theirs
        await presentation_token(voucher_server, issuer, other, voucher.voucher_id)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED and "V2" in err.value.details()
    token = (await presentation_token(voucher_server, issuer, other, others.voucher_id)).token
    for bad, code in ((token, grpc.StatusCode.PERMISSION_DENIED), ("a.b.c", grpc.StatusCode.PERMISSION_DENIED),
                      ("", grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.EnrolVoucher(pb.EnrolVoucherRequest(
                request_id=rid(), voucher_id=voucher.voucher_id, institution_id=institution,
                real_person_verified=True, presentation_token=bad))
        assert err.value.code() == code and ("V2" in err.value.details() or code != grpc.StatusCode.PERMISSION_DENIED)
    assert (await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))).state == pb.VOUCHER_STATE_ISSUED
    assert await count(voucher_server, "SELECT count(*) FROM used_presentation_tokens") == 0


@pytest.mark.policy("V1", "X1", "A6")
async def test_V1_a_person_sees_their_full_id_and_own_vouchers_staff_see_it_masked(stub, voucher_server, issuer):
    await _catalogue(stub)
    holder, other = sample_data.resident_id(random.Random(35)), sample_data.resident_id(random.Random(36))
    mine, theirs = await stub.IssueVoucher(issue_request(holder)), await stub.IssueVoucher(issue_request(other))
    masked = holder[:6] + "*" * 8 + holder[-4:]
    staff_view = await stub.GetPerson(pb.GetPersonRequest(resident_id=holder))
    assert (staff_view.name, staff_view.id_masked, staff_view.resident_id) == ("张三", masked, "")
    set_reply = await stub.SetHardshipGroups(pb.SetHardshipGroupsRequest(
        request_id=rid(), resident_id=holder, groups=[pb.HARDSHIP_GROUP_EMPLOYMENT_DIFFICULTY],
        effective_from=certificate_request(holder).issued_on))
    assert set_reply.resident_id == "" and list(set_reply.hardship_groups) == [pb.HARDSHIP_GROUP_EMPLOYMENT_DIFFICULTY]
    channel = person_channel(voucher_server, issuer, holder)
    try:
        app = voucher_pb2_grpc.VoucherServiceStub(channel)
        own = await app.GetPerson(pb.GetPersonRequest())
        assert (own.resident_id, own.id_masked) == (holder, masked)
        assert list(own.hardship_groups) == [pb.HARDSHIP_GROUP_EMPLOYMENT_DIFFICULTY]
        assert [v.voucher_id for v in (await app.ListVouchers(pb.ListVouchersRequest())).vouchers] == [mine.voucher_id]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await app.GetVoucher(pb.GetVoucherRequest(voucher_id=theirs.voucher_id))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await app.GetPerson(pb.GetPersonRequest(resident_id=other))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as err:  # a person may not change their own groups (A6)
            await app.SetHardshipGroups(pb.SetHardshipGroupsRequest(
                request_id=rid(), resident_id=holder, groups=[], effective_from=certificate_request(holder).issued_on))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await channel.close()
    assert holder not in voucher_server.log.read_text()  # the full ID went out in a reply, never to the log


@pytest.mark.policy("V3")
async def test_V3_only_an_evaluation_body_or_the_bureau_records_a_certificate(stub, voucher_server, issuer):
    institution = await _catalogue(stub)
    resident_id = sample_data.resident_id(random.Random(37))
    await stub.IssueVoucher(issue_request(resident_id))
    for kind, subject in ((ActorKind.INSTITUTION, institution), (ActorKind.PERSON, "p" * 64)):
        channel = admin_channel(voucher_server.addr, issuer, kind, subject)
        try:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await voucher_pb2_grpc.VoucherServiceStub(channel).RecordCertificate(certificate_request(resident_id))
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        finally:
            await channel.close()
    assert await count(voucher_server, "SELECT count(*) FROM certificates") == 0
    channel = admin_channel(voucher_server.addr, issuer, ActorKind.EVALUATION_BODY, "osta-beijing")
    try:
        cert = await voucher_pb2_grpc.VoucherServiceStub(channel).RecordCertificate(certificate_request(resident_id))
    finally:
        await channel.close()
    assert cert.issuer == "osta-beijing"
    assert (await stub.RecordCertificate(certificate_request(resident_id))).issuer == "bureau"
    bad = certificate_request(resident_id)
    bad.certificate_number = "C0123456789"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RecordCertificate(bad)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _alembic(url: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT_MIGRATIONS))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, revision)


@pytest.mark.policy("V1", "V3")
async def test_migration_0007_fills_persons_and_issuers_from_the_rows_already_there(database_url_factory):
    url = database_url_factory("m")
    await asyncio.to_thread(_alembic, url, "0005")
    vault = PiiVault(bytes(32), bytes(range(32)))
    rid_a, rid_b = sample_data.resident_id(random.Random(51)), sample_data.resident_id(random.Random(52))
    lookup_a, lookup_b = vault.lookup_hash(rid_a), vault.lookup_hash(rid_b)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    db = Database(url)
    try:
        async with db.writer.begin() as conn:
            for vid, lookup, rid_, name, at in (("vch_1", lookup_a, rid_a, "张三", t0),
                                                ("vch_2", lookup_a, rid_a, "张三丰", t0 + timedelta(days=1))):
                await conn.execute(text(
                    "INSERT INTO vouchers (voucher_id, holder_name, holder_id_lookup, holder_id_sealed, "
                    "holder_id_masked, occupation_code, level, fund_source, batch_id, state, real_person_verified, "
                    "value_fen, issued_at, valid_until, version) VALUES (:v, :n, :l, :s, :m, '6-31-01-03', 4, 'ESF', "
                    "'b', 'issued', false, 0, :at, :until, 0)"),
                    {"v": vid, "n": name, "l": lookup, "s": vault.seal(rid_), "m": rid_[:6] + "*" * 8 + rid_[-4:],
                     "at": at, "until": at + timedelta(days=365)})
            await conn.execute(text(
                "INSERT INTO certificates (certificate_id, certificate_number, certificate_type, holder_name, "
                "holder_id_lookup, holder_id_sealed, holder_id_masked, occupation_code, level, issued_on, recorded_at) "
                "VALUES ('crt_1', 'N1', 'skill_level', '李四', :l, :s, :m, '6-31-01-03', 4, :d, :at)"),
                {"l": lookup_b, "s": vault.seal(rid_b), "m": rid_b[:6] + "*" * 8 + rid_b[-4:], "d": t0.date(),
                 "at": t0})
            await conn.execute(text(
                "INSERT INTO audit_records (occurred_at, actor_kind, actor_subject, request_id, command, "
                "aggregate_type, aggregate_id, state_before, state_after) VALUES "
                "(:at, 'institution', 'ins_9', 'r', 'RecordCertificate', 'certificate', 'crt_1', '', 'recorded')"),
                {"at": t0})
            await conn.execute(text("INSERT INTO persons (id_lookup, version) VALUES (:l, 3)"), {"l": lookup_a})
    finally:
        await db.dispose()
    await asyncio.to_thread(run_migrations, url, ROOT_MIGRATIONS)
    db = Database(url)
    try:
        async with db.reader.connect() as conn:
            persons = {r.id_lookup: r for r in (await conn.execute(text("SELECT * FROM persons"))).all()}
            issuer_of = (await conn.execute(text("SELECT issuer FROM certificates"))).scalar_one()
    finally:
        await db.dispose()
    assert set(persons) == {lookup_a, lookup_b}
    a, b = persons[lookup_a], persons[lookup_b]
    assert (a.name, a.version, vault.unseal(bytes(a.id_sealed))) == ("张三丰", 3, rid_a)  # the latest voucher's
    assert (b.name, b.id_masked, vault.unseal(bytes(b.id_sealed))) == ("李四", rid_b[:6] + "*" * 8 + rid_b[-4:], rid_b)
    assert a.hardship_groups == "" and a.hardship_effective_from is None
    assert issuer_of == "institution:ins_9"  # recorded before V3's roles: named as it was
