"""Bringing vouchers to the point of redemption over gRPC: the one place that issues, enrols and
certifies for the redemption benchmark (``bench/redeem.py``) and the race tests
(``tests/integration/test_redeem_races.py``).

Enrolment lives in :func:`enrol` alone, so a change to what ``EnrolVoucher`` needs (e.g. the
holder's presentation token) is made here once.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from google.type import date_pb2

from skillpay.actors import ActorKind
from skillpay.auth import Identity, TokenIssuer, authenticated_channel
from skillpay.cli import sample_data
from skillpay.pii import person_subject
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc

LEVEL = 4
STANDARD_FEN = 150_000
NAME = "张三"
# Catalogue versions start here, so certificates dated any day since are valued (A1).
CATALOGUE_FROM = date_pb2.Date(year=2020, month=1, day=1)


def request_id() -> str:
    return uuid.uuid4().hex


def valid_until(days: int = 365) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC).replace(microsecond=0) + timedelta(days=days))
    return ts


def resident_ids(count: int, rng: random.Random | None = None) -> list[str]:
    """``count`` distinct resident IDs with a correct GB 11643 check digit (python-stdnum, V1)."""
    rng = rng or random.Random(secrets.randbits(64))
    found: dict[str, None] = {}
    while len(found) < count:
        found[sample_data.resident_id(rng)] = None
    return list(found)


async def catalogue(stub, codes: list[str], level: int = LEVEL) -> str:
    """Register ``codes`` at ``level`` and one institution approved for all of them; its id."""
    for code in codes:
        await stub.RegisterOccupation(pb.RegisterOccupationRequest(
            request_id=request_id(), code=code, name="电工", level=level, subsidy_standard_fen=STANDARD_FEN,
            effective_from=CATALOGUE_FROM))
    institution = await stub.RegisterInstitution(pb.RegisterInstitutionRequest(
        request_id=request_id(), name="示范学校", credit_code=sample_data.credit_code(), address="北京",
        occupation_codes=codes))
    return institution.institution_id


async def issue(stub, resident_id: str, code: str, fund_source: str, until: Timestamp,
                level: int = LEVEL, name: str = NAME) -> str:
    voucher = await stub.IssueVoucher(pb.IssueVoucherRequest(
        request_id=request_id(), resident_id=resident_id, name=name, occupation_code=code, level=level,
        fund_source=fund_source, batch_id="b1", valid_until=until))
    return voucher.voucher_id


@dataclass(frozen=True)
class Holders:
    """The holders' app: signs a PERSON identity for a resident ID (named by its look-up hash with
    the services' look-up key) and asks for a voucher's presentation token (V2)."""

    voucher_addr: str
    issuer: TokenIssuer
    lookup_key: bytes

    async def presentation_token(self, resident_id: str, voucher_id: str) -> str:
        person = Identity(self.issuer, ActorKind.PERSON, person_subject(resident_id, self.lookup_key))
        channel = authenticated_channel(self.voucher_addr, person)
        try:
            issued = await voucher_pb2_grpc.VoucherServiceStub(channel).CreatePresentationToken(
                pb.CreatePresentationTokenRequest(request_id=request_id(), voucher_id=voucher_id))
        finally:
            await channel.close()
        return issued.token


async def enrol(stub, holders: Holders, resident_id: str, voucher_id: str, institution_id: str) -> None:
    """The holder presents the voucher's token in person at the institution (the one place enrolment is done)."""
    token = await holders.presentation_token(resident_id, voucher_id)
    await stub.EnrolVoucher(pb.EnrolVoucherRequest(request_id=request_id(), voucher_id=voucher_id,
                                                   institution_id=institution_id, real_person_verified=True,
                                                   presentation_token=token))


async def record_certificate(stub, resident_id: str, code: str, issued_on: date | None = None,
                             level: int = LEVEL, name: str = NAME) -> str:
    # Yesterday (UTC) is never in the future of an Asia/Shanghai "today".
    issued_on = issued_on or (datetime.now(UTC).date() - timedelta(days=1))
    cert = await stub.RecordCertificate(pb.RecordCertificateRequest(
        request_id=request_id(), resident_id=resident_id, name=name,
        certificate_number=sample_data.skill_level_certificate_number(level, issued_on),
        certificate_type=pb.CERTIFICATE_TYPE_SKILL_LEVEL,
        occupation_code=code, level=level,
        issued_on=date_pb2.Date(year=issued_on.year, month=issued_on.month, day=issued_on.day)))
    return cert.certificate_id


@dataclass(frozen=True)
class Redeemable:
    """An enrolled voucher and a certificate that can redeem it."""

    voucher_id: str
    certificate_id: str


async def redeemable(stub, holders: Holders, resident_id: str, code: str, institution_id: str, fund_source: str,
                     until: Timestamp) -> Redeemable:
    """Issue, present and enrol, and certify one voucher of ``resident_id`` (4 calls)."""
    voucher_id = await issue(stub, resident_id, code, fund_source, until)
    await enrol(stub, holders, resident_id, voucher_id, institution_id)
    return Redeemable(voucher_id, await record_certificate(stub, resident_id, code))
