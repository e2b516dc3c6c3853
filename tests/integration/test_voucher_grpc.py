"""The voucher service as a real gRPC server process (no broker needed: events wait in the outbox)."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2
from google.type import date_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from skillpay.cli import sample_data
from skillpay.actors import ActorKind
from skillpay.auth import Identity, TokenIssuer, authenticated_channel, load_or_create_private_key, public_pem
from skillpay.clock import shanghai_date, utcnow
from skillpay.pii import person_subject
from skillpay.ready import read_port
from skillpay.cli.stack import grpc_serving
from skillpay.audit.v1 import audit_pb2
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc
from tests.integration.ledger_process import open_funds, private_pem, start_ledger

pytestmark = pytest.mark.integration


@pytest.fixture
def signing_key(tmp_path):
    return load_or_create_private_key(tmp_path / "keys" / "actor_signing.pem")


@pytest.fixture
def issuer(signing_key) -> TokenIssuer:
    return TokenIssuer(signing_key)


def admin_channel(addr: str, issuer: TokenIssuer, kind: ActorKind = ActorKind.ADMIN, subject: str = "admin-1"):
    return authenticated_channel(addr, Identity(issuer, kind, subject))


@pytest.fixture
def ledger_server(database_url_factory, tmp_path, signing_key):
    """The real ledger the voucher service checks fund sources with; the fund "ESF" is open."""
    key = base64.b64encode(os.urandom(32)).decode()
    ledger = start_ledger(tmp_path / "ledger", database_url_factory("l"), signing_key, key, key)
    yield ledger
    ledger.stop()


@pytest.fixture
def voucher_server(database_url_factory, tmp_path, signing_key, ledger_server):
    log_path, ready_file = tmp_path / "voucher.log", tmp_path / "voucher.addr"
    url = database_url_factory("v")
    lookup_key = os.urandom(32)  # tests that mint person tokens need it (skillpay.pii.person_subject)
    env = dict(os.environ, VOUCHER_GRPC_LISTEN="127.0.0.1:0", VOUCHER_METRICS_LISTEN="127.0.0.1:0", SKILLPAY_READY_FILE=str(ready_file),
               VOUCHER_DATABASE_URL=url, SKILLPAY_DATA_DIR=str(tmp_path), KAFKA_BOOTSTRAP_SERVERS="",
               SKILLPAY_AUTH_PUBLIC_KEY=public_pem(signing_key), SKILLPAY_AUTH_PRIVATE_KEY=private_pem(signing_key),
               VOUCHER_LEDGER_ADDR=ledger_server.addr,
               SKILLPAY_PII_KEY=base64.b64encode(os.urandom(32)).decode(),
               SKILLPAY_LOOKUP_KEY=base64.b64encode(lookup_key).decode())
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "voucher_svc.entrypoints.grpc_server"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        if (port := read_port(ready_file)) and grpc_serving(f"127.0.0.1:{port}"):
            break
        assert proc.poll() is None, log_path.read_text()
        time.sleep(0.05)
    else:
        pytest.fail(f"the voucher service did not come up:\n{log_path.read_text()}")
    server = type("Server", (), {"addr": f"127.0.0.1:{port}", "proc": proc, "log": log_path, "url": url,
                                 "lookup_key": lookup_key})
    yield server
    if proc.poll() is None:
        proc.terminate()
        proc.wait(15)


@pytest.fixture
async def stub(voucher_server, issuer):
    channel = admin_channel(voucher_server.addr, issuer)
    yield voucher_pb2_grpc.VoucherServiceStub(channel)
    await channel.close()


def rid() -> str:
    return uuid.uuid4().hex


# Fixed, so that a retried request is byte-for-byte the same request.
VALID_UNTIL = Timestamp()
VALID_UNTIL.FromDatetime(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=365))


def details(exc: grpc.aio.AioRpcError) -> status_pb2.Status:
    raw = dict(exc.trailing_metadata() or ())["grpc-status-details-bin"]
    return status_pb2.Status.FromString(raw)


def violations(exc: grpc.aio.AioRpcError) -> dict[str, str]:
    for detail in details(exc).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return {v.field: v.description for v in bad.field_violations}
    return {}


async def _catalogue(stub) -> str:
    await stub.RegisterOccupation(pb.RegisterOccupationRequest(request_id=rid(), code="6-31-01-03", name="电工",
                                                               level=4, subsidy_standard_fen=150_000,
                                                               effective_from=CATALOGUE_FROM))
    inst = await stub.RegisterInstitution(pb.RegisterInstitutionRequest(
        request_id=rid(), name="示范学校", credit_code=sample_data.credit_code(), address="北京",
        occupation_codes=["6-31-01-03"]))
    return inst.institution_id


# A1: the catalogue entry is in force before every certificate these tests record.
CATALOGUE_FROM = date_pb2.Date(year=2020, month=1, day=1)


def issue_request(resident_id: str, name: str = "张三", request_id: str | None = None) -> pb.IssueVoucherRequest:
    return pb.IssueVoucherRequest(request_id=request_id or rid(), resident_id=resident_id, name=name,
                                  occupation_code="6-31-01-03", level=4, fund_source="ESF", batch_id="b1",
                                  valid_until=VALID_UNTIL)


def certificate_request(resident_id: str, name: str = "张三") -> pb.RecordCertificateRequest:
    # The server judges issued_on by the Asia/Shanghai date of its clock; yesterday there is always valid.
    yesterday = shanghai_date(utcnow()) - timedelta(days=1)
    return pb.RecordCertificateRequest(
        request_id=rid(), resident_id=resident_id, name=name,
        certificate_number=sample_data.skill_level_certificate_number(4, yesterday),
        certificate_type=pb.CERTIFICATE_TYPE_SKILL_LEVEL, occupation_code="6-31-01-03", level=4,
        issued_on=date_pb2.Date(year=yesterday.year, month=yesterday.month, day=yesterday.day))


def person_channel(server, issuer: TokenIssuer, resident_id: str):
    """The holder's app: a PERSON actor named by the resident ID's look-up hash (V1, V2)."""
    return admin_channel(server.addr, issuer, ActorKind.PERSON, person_subject(resident_id, server.lookup_key))


async def presentation_token(server, issuer: TokenIssuer, resident_id: str, voucher_id: str) -> pb.PresentationToken:
    """V2: the holder's app asks for a presentation token for one of their vouchers."""
    channel = person_channel(server, issuer, resident_id)
    try:
        return await voucher_pb2_grpc.VoucherServiceStub(channel).CreatePresentationToken(
            pb.CreatePresentationTokenRequest(request_id=rid(), voucher_id=voucher_id))
    finally:
        await channel.close()


async def _enrolled_voucher(stub, institution_id: str, resident_id: str, server, issuer) -> pb.Voucher:
    voucher = await stub.IssueVoucher(issue_request(resident_id))
    token = await presentation_token(server, issuer, resident_id, voucher.voucher_id)
    return await stub.EnrolVoucher(pb.EnrolVoucherRequest(request_id=rid(), voucher_id=voucher.voucher_id,
                                                           institution_id=institution_id, real_person_verified=True,
                                                           presentation_token=token.token))


@pytest.mark.policy("V1")
async def test_V1_invalid_resident_id_is_invalid_argument_with_field_violation_and_nothing_stored(stub, voucher_server):
    await _catalogue(stub)
    bad_id = "110105199001011235"  # wrong check digit
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.IssueVoucher(issue_request(bad_id, name=""))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = violations(err.value)
    assert set(found) == {"resident_id", "name"}
    assert bad_id not in err.value.details() and bad_id not in found["resident_id"]
    assert len((await stub.ListVouchers(pb.ListVouchersRequest())).vouchers) == 0
    # V1: the ID number never reaches the log.
    assert bad_id not in voucher_server.log.read_text()


@pytest.mark.policy("V1")
async def test_V1_id_stored_encrypted_and_never_logged(stub, voucher_server, database_url_factory):
    await _catalogue(stub)
    resident_id = sample_data.resident_id(random.Random(1))
    voucher = await stub.IssueVoucher(issue_request(resident_id))
    assert voucher.holder_id_masked == resident_id[:6] + "*" * 8 + resident_id[-4:]
    assert resident_id not in voucher_server.log.read_text()
    # The database holds no clear ID: look at every text and byte column of the vouchers table.
    from sqlalchemy import text
    from skillpay.db import Database

    db = Database(voucher_server.url)
    try:
        async with db.reader.connect() as conn:
            rows = (await conn.execute(text("SELECT * FROM vouchers"))).all()
    finally:
        await db.dispose()
    flat = " ".join(repr(v) for row in rows for v in row)
    assert resident_id not in flat and resident_id[:6] + "*" * 8 in flat


async def test_same_request_id_returns_the_first_result_and_a_different_request_is_rejected(stub):
    await _catalogue(stub)
    resident_id = sample_data.resident_id(random.Random(2))
    request_id = rid()
    first = await stub.IssueVoucher(issue_request(resident_id, request_id=request_id))
    again = await stub.IssueVoucher(issue_request(resident_id, request_id=request_id))
    assert again == first
    # Concurrent retries of the same call: still one voucher.
    replies = await asyncio.gather(*[stub.IssueVoucher(issue_request(resident_id, request_id=request_id))
                                     for _ in range(5)])
    assert {r.voucher_id for r in replies} == {first.voucher_id}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.IssueVoucher(issue_request(resident_id, name="李四", request_id=request_id))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert len((await stub.ListVouchers(pb.ListVouchersRequest())).vouchers) == 1


async def test_mutating_call_without_request_id_is_rejected(stub):
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RegisterOccupation(pb.RegisterOccupationRequest(code="X", name="x", level=4,
                                                                   subsidy_standard_fen=1))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request_id" in violations(err.value)


@pytest.mark.policy("V2", "V3")
async def test_V2_V3_two_clients_racing_to_redeem_one_voucher_exactly_one_wins(voucher_server, issuer):
    channels = [admin_channel(voucher_server.addr, issuer) for _ in range(2)]
    stubs = [voucher_pb2_grpc.VoucherServiceStub(c) for c in channels]
    try:
        institution = await _catalogue(stubs[0])
        resident_id = sample_data.resident_id(random.Random(3))
        voucher = await _enrolled_voucher(stubs[0], institution, resident_id, voucher_server, issuer)
        certs = [await stubs[0].RecordCertificate(certificate_request(resident_id)) for _ in range(2)]

        async def redeem(stub, cert):
            try:
                return await stub.RedeemVoucher(pb.RedeemVoucherRequest(
                    request_id=rid(), voucher_id=voucher.voucher_id, certificate_id=cert.certificate_id))
            except grpc.aio.AioRpcError as exc:
                return exc

        results = await asyncio.gather(*[redeem(s, c) for s, c in zip(stubs, certs)])
        wins = [r for r in results if isinstance(r, pb.Voucher)]
        losses = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(wins) == 1 and len(losses) == 1
        assert losses[0].code() == grpc.StatusCode.FAILED_PRECONDITION
        final = await stubs[0].GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))
        assert final.state == pb.VOUCHER_STATE_REDEEMED and final.certificate_id == wins[0].certificate_id
        loser_cert = next(c for c in certs if c.certificate_id != final.certificate_id)
        assert (await stubs[0].GetCertificate(pb.GetCertificateRequest(
            certificate_id=loser_cert.certificate_id))).redeemed_voucher_id == ""
    finally:
        for c in channels:
            await c.close()


@pytest.mark.policy("V2")
async def test_V2_certificate_of_another_person_is_refused_and_changes_nothing(stub, voucher_server, issuer):
    institution = await _catalogue(stub)
    holder, other = sample_data.resident_id(random.Random(4)), sample_data.resident_id(random.Random(5))
    voucher = await _enrolled_voucher(stub, institution, holder, voucher_server, issuer)
    cert = await stub.RecordCertificate(certificate_request(other, name="李四"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RedeemVoucher(pb.RedeemVoucherRequest(request_id=rid(), voucher_id=voucher.voucher_id,
                                                         certificate_id=cert.certificate_id))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    after = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))
    assert after.state == pb.VOUCHER_STATE_ENROLLED and after.value_fen == 0


async def test_list_vouchers_is_paginated(stub):
    await _catalogue(stub)
    issued = {(await stub.IssueVoucher(issue_request(sample_data.resident_id(random.Random(i))))).voucher_id
              for i in range(7)}
    seen, token, pages = [], "", 0
    while True:
        page = await stub.ListVouchers(pb.ListVouchersRequest(page_size=3, page_token=token))
        seen += [v.voucher_id for v in page.vouchers]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 7 and set(seen) == issued
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListVouchers(pb.ListVouchersRequest(page_token="garbage"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_health_reflection_and_not_serving_during_graceful_shutdown(voucher_server):
    channel = grpc.aio.insecure_channel(voucher_server.addr)
    try:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service="skillpay.voucher.v1.VoucherService"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name async for r in responses for s in r.list_services_response.service}
        assert {"skillpay.voucher.v1.VoucherService", "grpc.health.v1.Health"} <= names
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        statuses = [(await watch.read()).status]
        voucher_server.proc.send_signal(signal.SIGTERM)
        try:
            while True:
                msg = await asyncio.wait_for(watch.read(), 10)
                if msg is grpc.aio.EOF:
                    break
                statuses.append(msg.status)
        except grpc.aio.AioRpcError:
            pass
        assert statuses[0] == health_pb2.HealthCheckResponse.SERVING
        assert health_pb2.HealthCheckResponse.NOT_SERVING in statuses
        assert voucher_server.proc.wait(15) == 0
    finally:
        await channel.close()


# ---------------------------------------------------------------------------- identities and audit


async def test_a_call_without_a_valid_token_is_unauthenticated_and_changes_nothing(voucher_server, issuer):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = TokenIssuer(Ed25519PrivateKey.generate())  # a key the server does not trust
    expired = TokenIssuer(load_or_create_private_key(Path(voucher_server.log).parent / "keys" / "actor_signing.pem"),
                          ttl_s=-60)
    request = pb.RegisterOccupationRequest(request_id=rid(), code="6-31-01-03", name="电工", level=4,
                                           subsidy_standard_fen=150_000)
    for channel in (grpc.aio.insecure_channel(voucher_server.addr), admin_channel(voucher_server.addr, forged),
                    admin_channel(voucher_server.addr, expired)):
        try:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await voucher_pb2_grpc.VoucherServiceStub(channel).RegisterOccupation(request)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        finally:
            await channel.close()
    # Health stays open for probes; nothing was registered.
    assert grpc_serving(voucher_server.addr)
    channel = admin_channel(voucher_server.addr, issuer)
    try:
        listed = await voucher_pb2_grpc.VoucherServiceStub(channel).ListOccupations(pb.ListOccupationsRequest())
        assert list(listed.occupations) == []
    finally:
        await channel.close()


@pytest.mark.policy("V2")
async def test_a_role_that_may_not_act_gets_permission_denied(voucher_server, issuer, stub):
    institution = await _catalogue(stub)
    resident_id = sample_data.resident_id(random.Random(41))
    voucher = await stub.IssueVoucher(issue_request(resident_id))
    finance = admin_channel(voucher_server.addr, issuer, ActorKind.FINANCE, "finance-1")
    other_school = admin_channel(voucher_server.addr, issuer, ActorKind.INSTITUTION, "ins_someone_else")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await voucher_pb2_grpc.VoucherServiceStub(finance).IssueVoucher(issue_request(resident_id))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as err:  # an institution acts only for itself
            await voucher_pb2_grpc.VoucherServiceStub(other_school).EnrolVoucher(pb.EnrolVoucherRequest(
                request_id=rid(), voucher_id=voucher.voucher_id, institution_id=institution,
                real_person_verified=True))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await finance.close()
        await other_school.close()
    after = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))
    assert after.state == pb.VOUCHER_STATE_ISSUED
    assert len((await stub.ListVouchers(pb.ListVouchersRequest())).vouchers) == 1


@pytest.mark.policy("C8", "V4")
async def test_every_state_change_is_in_the_audit_trail_with_actor_command_and_request_id(voucher_server, issuer,
                                                                                          stub):
    institution = await _catalogue(stub)
    resident_id = sample_data.resident_id(random.Random(42))
    voucher = await stub.IssueVoucher(issue_request(resident_id, request_id="issue-42"))
    school = admin_channel(voucher_server.addr, issuer, ActorKind.INSTITUTION, institution)
    try:
        school_stub = voucher_pb2_grpc.VoucherServiceStub(school)
        token = await presentation_token(voucher_server, issuer, resident_id, voucher.voucher_id)
        await school_stub.EnrolVoucher(pb.EnrolVoucherRequest(request_id="enrol-42", voucher_id=voucher.voucher_id,
                                                              institution_id=institution, real_person_verified=True,
                                                              presentation_token=token.token))
        cert = await stub.RecordCertificate(certificate_request(resident_id))  # V3: the bureau records it
        await school_stub.RedeemVoucher(pb.RedeemVoucherRequest(request_id="redeem-42", voucher_id=voucher.voucher_id,
                                                                certificate_id=cert.certificate_id))
        await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))  # a read leaves no record
        records, token = [], ""
        while True:  # two per page, to walk the pagination too
            page = await stub.ListAuditRecords(audit_pb2.ListAuditRecordsRequest(
                aggregate_id=voucher.voucher_id, page_size=2, page_token=token))
            records += list(page.records)
            token = page.next_page_token
            if not token:
                break
        with pytest.raises(grpc.aio.AioRpcError) as err:  # institutions do not read the trail
            await school_stub.ListAuditRecords(audit_pb2.ListAuditRecordsRequest(aggregate_id=voucher.voucher_id))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await school.close()
    assert [(r.command, r.state_before, r.state_after, r.actor_kind, r.actor_subject, r.request_id)
            for r in records] == [
        ("IssueVoucher", "", "issued", "admin", "admin-1", "issue-42"),
        ("EnrolVoucher", "issued", "enrolled", "institution", institution, "enrol-42"),
        ("RedeemVoucher", "enrolled", "redeemed", "institution", institution, "redeem-42"),
    ]
    assert all(r.aggregate_type == "voucher" and r.occurred_at.seconds > 0 for r in records)


@pytest.mark.policy("V4", "F1")
async def test_issue_from_a_fund_the_ledger_does_not_know_is_refused_naming_fund_source_and_nothing_stored(
        stub, voucher_server, ledger_server, issuer):
    await _catalogue(stub)
    request = issue_request(sample_data.resident_id(random.Random(41)))
    request.fund_source = "UIF-NOT-OPENED"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.IssueVoucher(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(err.value)) == {"fund_source"}
    assert (await stub.ListVouchers(pb.ListVouchersRequest(page_size=10))).vouchers == []
    # finance opens the fund: the same request now issues the voucher
    await open_funds(ledger_server.addr, issuer, ("UIF-NOT-OPENED",))
    voucher = await stub.IssueVoucher(request)
    assert voucher.fund_source == "UIF-NOT-OPENED"


async def test_issue_while_the_ledger_is_down_is_unavailable_and_nothing_stored(stub, voucher_server, ledger_server):
    await _catalogue(stub)
    ledger_server.stop()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.IssueVoucher(issue_request(sample_data.resident_id(random.Random(42))))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "fund_source" in err.value.details()
    assert (await stub.ListVouchers(pb.ListVouchersRequest(page_size=10))).vouchers == []
