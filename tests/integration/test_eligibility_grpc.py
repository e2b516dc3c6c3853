"""Repeat limits (L1-L4) through a real voucher_svc process on SQLite and PostgreSQL: one person's
concurrent redemptions are serialised, so they cannot pass a limit together."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date

import grpc
import pytest
from google.rpc import error_details_pb2
from google.type import date_pb2
from sqlalchemy import text

from skillpay.cli import sample_data
from skillpay.db import Database
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc
from tests.integration.test_voucher_grpc import (  # noqa: F401 - fixtures
    VALID_UNTIL,
    admin_channel,
    details,
    issuer,
    ledger_server,
    presentation_token,
    signing_key,
    stub,
    voucher_server,
)

pytestmark = pytest.mark.integration

CODES = [f"6-31-01-{i:02d}" for i in range(1, 13)]
CATALOGUE_FROM = date_pb2.Date(year=2020, month=1, day=1)  # in force before every certificate here (A1)


def rid() -> str:
    return uuid.uuid4().hex


def precondition_failures(exc: grpc.aio.AioRpcError) -> list[error_details_pb2.PreconditionFailure.Violation]:
    found = []
    for detail in details(exc).details:
        if detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            found += failure.violations
    return found


async def _voucher(stub, server, issuer, institution_id, resident_id, code, enrol=True) -> str:
    voucher = await stub.IssueVoucher(pb.IssueVoucherRequest(
        request_id=rid(), resident_id=resident_id, name="张三", occupation_code=code, level=4, fund_source="ESF",
        batch_id="b1", valid_until=VALID_UNTIL))
    if enrol:
        await _enrol(stub, server, issuer, institution_id, resident_id, voucher.voucher_id)
    return voucher.voucher_id


async def _enrol(stub, server, issuer, institution_id, resident_id, voucher_id):
    token = await presentation_token(server, issuer, resident_id, voucher_id)  # V2: the holder presents it
    return await stub.EnrolVoucher(pb.EnrolVoucherRequest(request_id=rid(), voucher_id=voucher_id,
                                                          institution_id=institution_id, real_person_verified=True,
                                                          presentation_token=token.token))


async def _certificate(stub, resident_id, code, issued_on: date) -> str:
    cert = await stub.RecordCertificate(pb.RecordCertificateRequest(
        request_id=rid(), resident_id=resident_id, name="张三",
        certificate_number=sample_data.skill_level_certificate_number(4, issued_on),
        certificate_type=pb.CERTIFICATE_TYPE_SKILL_LEVEL, occupation_code=code, level=4,
        issued_on=date_pb2.Date(year=issued_on.year, month=issued_on.month, day=issued_on.day)))
    return cert.certificate_id


@pytest.mark.policy("L1")
async def test_L1_ten_concurrent_redemptions_by_one_person_at_the_limit_exactly_one_succeeds(
        stub, voucher_server, issuer):
    for code in CODES:
        await stub.RegisterOccupation(pb.RegisterOccupationRequest(request_id=rid(), code=code, name="电工", level=4,
                                                                   subsidy_standard_fen=150_000,
                                                                   effective_from=CATALOGUE_FROM))
    institution = (await stub.RegisterInstitution(pb.RegisterInstitutionRequest(
        request_id=rid(), name="示范学校", credit_code=sample_data.credit_code(), address="北京",
        occupation_codes=CODES))).institution_id
    person = sample_data.resident_id(random.Random(77))
    # Certificates of a past year, whatever today is: two subsidies already in 2024 (L4's month apart).
    for code, on in zip(CODES[:2], (date(2024, 3, 1), date(2024, 5, 1))):
        voucher_id = await _voucher(stub, voucher_server, issuer, institution, person, code)
        cert_id = await _certificate(stub, person, code, on)
        await stub.RedeemVoucher(pb.RedeemVoucherRequest(request_id=rid(), voucher_id=voucher_id,
                                                         certificate_id=cert_id))
    # Ten candidates of other occupations, each with its own 2024 certificate. L4 lets one person
    # enrol only one training at a time, so nine are put in the enrolled state directly (as if
    # enrolled before these rules): the race of their redemptions is what is tested here.
    candidates = [await _voucher(stub, voucher_server, issuer, institution, person, code, enrol=(i == 0))
                  for i, code in enumerate(CODES[2:])]
    certs = [await _certificate(stub, person, code, date(2024, 9, 1 + i)) for i, code in enumerate(CODES[2:])]
    db = Database(voucher_server.url)
    try:
        async with db.writer.begin() as conn:
            for voucher_id in candidates[1:]:
                await conn.execute(text(
                    "UPDATE vouchers SET state = 'enrolled', institution_id = :ins, real_person_verified = :t, "
                    "version = version + 1 WHERE voucher_id = :v"), {"ins": institution, "t": True, "v": voucher_id})
    finally:
        await db.dispose()

    channels = [admin_channel(voucher_server.addr, issuer) for _ in candidates]
    try:
        # Each channel connected first, so the ten redemptions reach the server together.
        await asyncio.gather(*[voucher_pb2_grpc.VoucherServiceStub(c).GetVoucher(pb.GetVoucherRequest(
            voucher_id=v)) for c, v in zip(channels, candidates)])

        async def redeem(channel, voucher_id, cert_id):
            try:
                return await voucher_pb2_grpc.VoucherServiceStub(channel).RedeemVoucher(pb.RedeemVoucherRequest(
                    request_id=rid(), voucher_id=voucher_id, certificate_id=cert_id))
            except grpc.aio.AioRpcError as exc:
                return exc

        results = await asyncio.gather(*[redeem(*args) for args in zip(channels, candidates, certs)])
    finally:
        for channel in channels:
            await channel.close()
    wins = [r for r in results if isinstance(r, pb.Voucher)]
    losses = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(wins) == 1, [(r.code(), r.details()) for r in losses]
    assert len(losses) == 9
    for loss in losses:
        assert loss.code() == grpc.StatusCode.FAILED_PRECONDITION, loss.details()
        [violation] = precondition_failures(loss)
        assert violation.type == "L1" and violation.subject == "person"
        assert "每人每年最多" in violation.description and "2024" in violation.description
        assert person not in loss.details() and person not in violation.description
    redeemed = [v for v in (await stub.ListVouchers(pb.ListVouchersRequest(page_size=50))).vouchers
                if v.state == pb.VOUCHER_STATE_REDEEMED]
    assert len(redeemed) == 3
    assert person not in voucher_server.log.read_text()


@pytest.mark.policy("L2", "L4")
async def test_enrolment_refused_by_the_limits_names_each_rule_in_a_precondition_failure(stub, voucher_server, issuer):
    await stub.RegisterOccupation(pb.RegisterOccupationRequest(request_id=rid(), code=CODES[0], name="电工", level=4,
                                                               subsidy_standard_fen=150_000,
                                                               effective_from=CATALOGUE_FROM))
    institution = (await stub.RegisterInstitution(pb.RegisterInstitutionRequest(
        request_id=rid(), name="示范学校", credit_code=sample_data.credit_code(), address="北京",
        occupation_codes=[CODES[0]]))).institution_id
    person = sample_data.resident_id(random.Random(78))
    await _voucher(stub, voucher_server, issuer, institution, person, CODES[0])
    second = await _voucher(stub, voucher_server, issuer, institution, person, CODES[0], enrol=False)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _enrol(stub, voucher_server, issuer, institution, person, second)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [v.type for v in precondition_failures(err.value)] == ["L4"]
    after = await stub.GetVoucher(pb.GetVoucherRequest(voucher_id=second))
    assert after.state == pb.VOUCHER_STATE_ISSUED
