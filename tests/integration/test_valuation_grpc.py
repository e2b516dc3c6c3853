"""Valuation (A2-A4), employment evidence and the A5 top-up through a real voucher_svc process on
SQLite and PostgreSQL: a redemption at 80% is topped up exactly once, however many RecordEmployment
calls race for it."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, timedelta

import grpc
import pytest
from google.type import date_pb2
from sqlalchemy import text

from skillpay.actors import ActorKind
from skillpay.cli import sample_data
from skillpay.clock import shanghai_date, utcnow
from skillpay.db import Database
from skillpay.events.v1 import events_pb2
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc
from tests.integration.test_voucher_grpc import (  # noqa: F401 - fixtures
    _catalogue,
    _enrolled_voucher,
    admin_channel,
    certificate_request,
    issuer,
    ledger_server,
    signing_key,
    stub,
    violations,
    voucher_server,
)

pytestmark = pytest.mark.integration


def rid() -> str:
    return uuid.uuid4().hex


def _date(d: date) -> date_pb2.Date:
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def employment_request(resident_id: str, employer: str, start: date,
                       source=pb.EMPLOYMENT_SOURCE_SOCIAL_INSURANCE) -> pb.RecordEmploymentRequest:
    return pb.RecordEmploymentRequest(request_id=rid(), resident_id=resident_id, name="张三",
                                      employer_credit_code=employer, employer_name="南阳电力安装有限公司",
                                      start_date=_date(start), source=source)


async def _redeemed(client, resident_id: str, server, token_issuer) -> pb.Voucher:
    institution = await _catalogue(client)
    voucher = await _enrolled_voucher(client, institution, resident_id, server, token_issuer)
    cert = await client.RecordCertificate(certificate_request(resident_id))  # skill level, yesterday
    return await client.RedeemVoucher(pb.RedeemVoucherRequest(request_id=rid(), voucher_id=voucher.voucher_id,
                                                            certificate_id=cert.certificate_id))


async def _outbox(url: str, event_type: str) -> list[events_pb2.EventEnvelope]:
    db = Database(url)
    try:
        async with db.reader.connect() as conn:
            rows = (await conn.execute(text("SELECT envelope FROM outbox WHERE event_type = :t ORDER BY id"),
                                       {"t": event_type})).all()
    finally:
        await db.dispose()
    return [events_pb2.EventEnvelope.FromString(r.envelope) for r in rows]


@pytest.mark.policy("A3", "A5")
async def test_A5_redeemed_at_80_percent_then_employment_recorded_tops_up_exactly_once(stub, voucher_server,
                                                                                     issuer):
    person = sample_data.resident_id(random.Random(21))
    voucher = await _redeemed(stub, person, voucher_server, issuer)
    yesterday = shanghai_date(utcnow()) - timedelta(days=1)
    assert (voucher.value_fen, voucher.rate_percent, voucher.valuation_rule, voucher.standard_fen) == (
        120_000, 80, "A3", 150_000)
    window_end = voucher.employment_window_end
    assert date(window_end.year, window_end.month, window_end.day) > yesterday + timedelta(days=88)
    assert voucher.topped_up_fen == 0 and not voucher.HasField("employment_window_start")

    employer = sample_data.credit_code(random.Random(1))
    record = await stub.RecordEmployment(employment_request(person, employer, yesterday))
    assert record.person_id_masked == person[:6] + "*" * 8 + person[-4:] and record.recorded_by == "admin:admin-1"
    after = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))
    assert (after.value_fen, after.topped_up_fen, after.state) == (120_000, 30_000, pb.VOUCHER_STATE_REDEEMED)
    assert after.top_up_id.startswith("tup_") and after.HasField("topped_up_at")

    # The same evidence again (a new request id) returns the first record; other evidence in the window tops up nothing.
    again = await stub.RecordEmployment(employment_request(person, employer, yesterday))
    assert again.employment_id == record.employment_id
    await stub.RecordEmployment(employment_request(person, sample_data.credit_code(random.Random(2)), yesterday,
                                                   pb.EMPLOYMENT_SOURCE_LABOUR_CONTRACT))
    final = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))
    assert (final.topped_up_fen, final.top_up_id, final.topped_up_at) == (30_000, after.top_up_id, after.topped_up_at)
    [topped] = await _outbox(voucher_server.url, "voucher.topped_up")
    payload = events_pb2.VoucherToppedUp.FromString(topped.payload)
    assert (payload.top_up_id, payload.value_fen, payload.top_up_fen, topped.aggregate_id) == (
        after.top_up_id, 120_000, 30_000, voucher.voucher_id)
    assert len(await _outbox(voucher_server.url, "employment.recorded")) == 2
    listed = await stub.ListEmployment(pb.ListEmploymentRequest(resident_id=person))
    assert {r.employment_id for r in listed.records} >= {record.employment_id} and len(listed.records) == 2
    assert person not in voucher_server.log.read_text()


@pytest.mark.policy("A5")
async def test_A5_ten_concurrent_employment_records_for_one_person_give_one_top_up(stub, voucher_server, issuer):
    person = sample_data.resident_id(random.Random(22))
    voucher = await _redeemed(stub, person, voucher_server, issuer)
    today = shanghai_date(utcnow())
    # Five copies of one piece of evidence and five different ones, all inside the window, at once.
    requests = [employment_request(person, sample_data.credit_code(random.Random(100)), today) for _ in range(5)]
    requests += [employment_request(person, sample_data.credit_code(random.Random(200 + i)), today)
                 for i in range(5)]
    channels = [admin_channel(voucher_server.addr, issuer) for _ in requests]
    try:
        stubs = [voucher_pb2_grpc.VoucherServiceStub(c) for c in channels]
        await asyncio.gather(*[s.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id)) for s in stubs])
        results = await asyncio.gather(*[s.RecordEmployment(r) for s, r in zip(stubs, requests)],
                                       return_exceptions=True)
    finally:
        for c in channels:
            await c.close()
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len({r.employment_id for r in results}) == 6
    final = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))
    assert (final.value_fen, final.topped_up_fen) == (120_000, 30_000)
    assert len(await _outbox(voucher_server.url, "voucher.topped_up")) == 1
    assert len(await _outbox(voucher_server.url, "employment.recorded")) == 6


@pytest.mark.policy("A2")
async def test_A2_employment_recorded_before_redemption_pays_the_whole_standard(stub, voucher_server, issuer):
    person = sample_data.resident_id(random.Random(23))
    await stub.RecordEmployment(employment_request(person, sample_data.credit_code(random.Random(3)),
                                                   date(2019, 5, 1), pb.EMPLOYMENT_SOURCE_SELF_EMPLOYMENT))
    voucher = await _redeemed(stub, person, voucher_server, issuer)
    assert (voucher.value_fen, voucher.rate_percent, voucher.valuation_rule) == (150_000, 100, "A2")
    [redeemed] = await _outbox(voucher_server.url, "voucher.redeemed")
    payload = events_pb2.VoucherRedeemed.FromString(redeemed.payload)
    assert (payload.value_fen, payload.rate_percent, payload.valuation_rule, payload.standard_fen) == (
        150_000, 100, "A2", 150_000)


async def test_bad_employment_input_is_invalid_argument_naming_each_field_and_nothing_is_stored(stub, voucher_server,
                                                                                             issuer):
    bad_id = "110105199001011235"  # wrong check digit
    tomorrow = shanghai_date(utcnow()) + timedelta(days=1)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RecordEmployment(pb.RecordEmploymentRequest(
            request_id=rid(), resident_id=bad_id, name="张三", employer_credit_code="91110000ABC",
            employer_name="", start_date=_date(tomorrow)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(err.value)) == {"resident_id", "employer_credit_code", "employer_name", "start_date",
                                          "source"}
    assert bad_id not in err.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RecordEmployment(pb.RecordEmploymentRequest(
            request_id=rid(), resident_id=sample_data.resident_id(random.Random(24)), name="张三",
            employer_credit_code=sample_data.credit_code(), employer_name="公司",
            start_date=date_pb2.Date(year=2025, month=2, day=30), source=pb.EMPLOYMENT_SOURCE_LABOUR_CONTRACT))
    assert violations(err.value) == {"start_date": "is not a valid calendar date"}
    person_channel = admin_channel(voucher_server.addr, issuer, ActorKind.PERSON, "p-1")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await voucher_pb2_grpc.VoucherServiceStub(person_channel).RecordEmployment(employment_request(
                sample_data.resident_id(random.Random(24)), sample_data.credit_code(), date(2024, 1, 1)))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await person_channel.close()
    assert await _outbox(voucher_server.url, "employment.recorded") == []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListEmployment(pb.ListEmploymentRequest(resident_id=bad_id))
    assert set(violations(err.value)) == {"resident_id"}


@pytest.mark.policy("A2", "A5")
async def test_employment_recorded_while_the_voucher_is_redeemed_is_never_missed(stub, voucher_server, issuer):
    """Redemption and RecordEmployment racing for one person: either the redemption sees the job (A2)
    or the record sees the redemption (A5); the holder always ends with the whole standard."""
    institution = await _catalogue(stub)
    channels = [admin_channel(voucher_server.addr, issuer) for _ in range(2)]
    try:
        stubs = [voucher_pb2_grpc.VoucherServiceStub(c) for c in channels]
        for i in range(4):
            person = sample_data.resident_id(random.Random(300 + i))
            voucher = await _enrolled_voucher(stub, institution, person, voucher_server, issuer)
            cert = await stub.RecordCertificate(certificate_request(person))
            await asyncio.gather(*[s.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id)) for s in stubs])
            await asyncio.gather(
                stubs[0].RedeemVoucher(pb.RedeemVoucherRequest(request_id=rid(), voucher_id=voucher.voucher_id,
                                                               certificate_id=cert.certificate_id)),
                stubs[1].RecordEmployment(employment_request(person, sample_data.credit_code(),
                                                             shanghai_date(utcnow()))))
            final = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=voucher.voucher_id))
            assert final.value_fen + final.topped_up_fen == 150_000, final
    finally:
        for c in channels:
            await c.close()
