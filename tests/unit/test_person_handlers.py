"""Persons (V1, X1), presentation tokens at enrolment (V2) and who records certificates (V3), on the fakes.

Every command goes through the real bus from ``voucher_svc.bootstrap.bootstrap``; reads go through
``VoucherQueries`` as the gRPC servicer uses them. State is read back from the fake database.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from skillpay.actors import Actor, ActorKind
from skillpay.cli.sample_data import (
    credit_code,
    resident_id,
    skill_level_certificate_number,
)
from skillpay.clock import FixedClock
from skillpay.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from skillpay.pii import PiiVault, person_subject
from tests.fakes import FakeFundDirectory, FakeVoucherUnitOfWork
from voucher_svc.adapters.presentation import SignedPresentationTokens
from voucher_svc.bootstrap import bootstrap
from voucher_svc.domain.model import CertificateType, VoucherState
from voucher_svc.domain.person import HardshipGroup
from voucher_svc.entrypoints.grpc_server import VOUCHER
from voucher_svc.service_layer import commands
from voucher_svc.service_layer.queries import VoucherQueries

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
ISSUED_ON = date(2025, 3, 1)
LOOKUP_KEY = bytes(range(32))
VAULT = PiiVault(bytes(32), LOOKUP_KEY)
KEY = Ed25519PrivateKey.generate()
ADMIN = Actor(ActorKind.ADMIN, "admin-1")
REVIEWER = Actor(ActorKind.REVIEWER, "reviewer-1")
EVALUATOR = Actor(ActorKind.EVALUATION_BODY, "eval-1")
RID, OTHER_RID = resident_id(random.Random(1)), resident_id(random.Random(2))
HOLDER = Actor(ActorKind.PERSON, person_subject(RID, LOOKUP_KEY))
OTHER_PERSON = Actor(ActorKind.PERSON, person_subject(OTHER_RID, LOOKUP_KEY))
CODE, OTHER_CODE, LEVEL = "6-31-01-03", "4-10-01-01", 4


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def uows(clock):
    return FakeVoucherUnitOfWork.factory(clock)


@pytest.fixture
def db(uows):
    return uows.db


@pytest.fixture
def tokens():
    return SignedPresentationTokens(KEY)


@pytest.fixture
def bus(uows, clock, tokens):
    return bootstrap(uows, VAULT, FakeFundDirectory({"esf"}), clock=clock, presentations=tokens)


@pytest.fixture
def queries(uows):
    return VoucherQueries(uows, VAULT)


@contextmanager
def nothing_stored(db):
    before = db.snapshot()
    yield
    assert (db.tables, db.outbox, db.audit_records, db.idempotency) == before


async def catalogue(bus) -> str:
    for code in (CODE, OTHER_CODE):
        await bus.handle(commands.RegisterOccupation(actor=ADMIN, code=code, name="电工", level=LEVEL,
                                                     subsidy_standard_fen=150_000))
    ins = await bus.handle(commands.RegisterInstitution(actor=ADMIN, name="蓝天职业培训学校",
                                                        credit_code=credit_code(random.Random(1)), address="北京",
                                                        occupation_codes=(CODE, OTHER_CODE)))
    return ins.institution_id


async def issue(bus, rid=RID, name="张三", code=CODE):
    return await bus.handle(commands.IssueVoucher(actor=ADMIN, resident_id=rid, name=name, occupation_code=code,
                                                  level=LEVEL, fund_source="esf", batch_id="b",
                                                  valid_until=NOW + timedelta(days=180)))


async def present(bus, voucher_id, holder=HOLDER) -> str:
    return (await bus.handle(commands.CreatePresentationToken(actor=holder, voucher_id=voucher_id))).token


def enrol_command(voucher_id, institution_id, token, request_id="", verified=True):
    return commands.EnrolVoucher(actor=Actor(ActorKind.INSTITUTION, institution_id, request_id),
                                 voucher_id=voucher_id, institution_id=institution_id,
                                 real_person_verified=verified, presentation_token=token)


def record(actor=EVALUATOR, rid=RID, number=None, kind=CertificateType.SKILL_LEVEL):
    return commands.RecordCertificate(
        actor=actor, resident_id=rid, name="张三",
        certificate_number=number or skill_level_certificate_number(LEVEL, ISSUED_ON, 7, random.Random(0)),
        certificate_type=kind, occupation_code=CODE, level=LEVEL, issued_on=ISSUED_ON)


def refusal(err) -> tuple[str, str]:
    [violation] = err.value.violations
    return violation.type, violation.description


# -- V2: presentation tokens at enrolment -----------------------------------------------------------
@pytest.mark.policy("V2", "X1")
async def test_V2_the_holders_token_enrols_once_and_its_use_and_the_real_person_check_are_recorded(bus, db):
    institution = await catalogue(bus)
    voucher = await issue(bus)
    issued = await bus.handle(commands.CreatePresentationToken(actor=HOLDER, voucher_id=voucher.voucher_id))
    assert issued.expires_at == NOW + timedelta(seconds=300) and issued.qr_png.startswith(b"\x89PNG")
    await bus.handle(enrol_command(voucher.voucher_id, institution, issued.token))
    stored = db.tables["vouchers"][voucher.voucher_id]
    assert (stored.state, stored.institution_id, stored.real_person_verified) == (
        VoucherState.ENROLLED, institution, True)
    [(_jti, use)] = db.tables["used_presentation_tokens"].items()
    assert use == (voucher.voucher_id, institution, NOW)
    assert db.person_locks == [HOLDER.subject]  # L1-L4: the person's lock is still taken


@pytest.mark.policy("V2")
async def test_V2_a_reused_token_is_refused_and_changes_nothing(bus, db):
    institution = await catalogue(bus)
    voucher = await issue(bus)
    token = await present(bus, voucher.voucher_id)
    await bus.handle(enrol_command(voucher.voucher_id, institution, token, "enrol-1"), reply=VOUCHER)
    with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
        await bus.handle(enrol_command(voucher.voucher_id, institution, token, "enrol-2"), reply=VOUCHER)
    rule, reason = refusal(err)
    assert rule == "V2" and "already used" in reason


@pytest.mark.policy("V2")
async def test_V2_a_retry_of_the_same_enrol_request_gets_the_first_answer_not_a_reuse_refusal(bus, db):
    institution = await catalogue(bus)
    voucher = await issue(bus)
    command = enrol_command(voucher.voucher_id, institution, await present(bus, voucher.voucher_id), "enrol-1")
    first = await bus.handle(command, reply=VOUCHER)
    with nothing_stored(db):
        assert await bus.handle(command, reply=VOUCHER) == first


@pytest.mark.policy("V2")
async def test_V2_a_token_of_another_voucher_is_refused(bus, db):
    institution = await catalogue(bus)
    voucher, other = await issue(bus), await issue(bus, code=OTHER_CODE)
    token = await present(bus, other.voucher_id)
    with nothing_stored(db), pytest.raises(PermissionDenied, match="V2.*another voucher"):
        await bus.handle(enrol_command(voucher.voucher_id, institution, token))


@pytest.mark.policy("V2")
async def test_V2_a_token_naming_another_holder_is_refused(bus, db, tokens):
    institution = await catalogue(bus)
    voucher = await issue(bus)
    # Only this service could sign one; the check stands even so.
    token = tokens.issue(voucher.voucher_id, OTHER_PERSON.subject, NOW).token
    with nothing_stored(db), pytest.raises(PermissionDenied, match="V2.*another person"):
        await bus.handle(enrol_command(voucher.voucher_id, institution, token))


@pytest.mark.policy("V2")
async def test_V2_an_expired_token_is_refused_by_the_services_clock(bus, db, clock):
    institution = await catalogue(bus)
    voucher = await issue(bus)
    late, in_time = await present(bus, voucher.voucher_id), await present(bus, voucher.voucher_id)
    clock.advance(timedelta(seconds=300))
    with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
        await bus.handle(enrol_command(voucher.voucher_id, institution, late))
    rule, reason = refusal(err)
    assert rule == "V2" and "expired" in reason
    clock.advance(timedelta(seconds=-1))
    await bus.handle(enrol_command(voucher.voucher_id, institution, in_time))
    assert db.tables["vouchers"][voucher.voucher_id].state is VoucherState.ENROLLED


@pytest.mark.policy("V2")
async def test_V2_a_forged_token_is_refused(bus, db):
    institution = await catalogue(bus)
    voucher = await issue(bus)
    forged = SignedPresentationTokens(Ed25519PrivateKey.generate()).issue(voucher.voucher_id, HOLDER.subject, NOW)
    with nothing_stored(db), pytest.raises(PermissionDenied, match="V2.*forged"):
        await bus.handle(enrol_command(voucher.voucher_id, institution, forged.token))


@pytest.mark.policy("V2")
async def test_V2_enrolment_without_a_token_is_invalid_naming_the_field(bus, db):
    institution = await catalogue(bus)
    voucher = await issue(bus)
    for missing in ("", "   ", "x" * 3000, "no dots here"):
        with nothing_stored(db), pytest.raises(InvalidArgument) as err:
            await bus.handle(enrol_command(voucher.voucher_id, institution, missing))
        assert [v.field for v in err.value.violations] == ["presentation_token"]


@pytest.mark.policy("V2", "X1")
async def test_a_refused_enrolment_does_not_use_up_the_token(bus, db):
    institution = await catalogue(bus)
    voucher = await issue(bus)
    token = await present(bus, voucher.voucher_id)
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="real-person"):
        await bus.handle(enrol_command(voucher.voucher_id, institution, token, verified=False))
    await bus.handle(enrol_command(voucher.voucher_id, institution, token))
    assert db.tables["vouchers"][voucher.voucher_id].state is VoucherState.ENROLLED


@pytest.mark.policy("V2", "P1")
async def test_an_institution_not_approved_for_the_occupation_is_refused_even_with_a_valid_token(bus, db):
    await catalogue(bus)
    approved_elsewhere = await bus.handle(commands.RegisterInstitution(
        actor=ADMIN, name="另一学校", credit_code=credit_code(random.Random(2)), address="北京",
        occupation_codes=(OTHER_CODE,)))
    voucher = await issue(bus)
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="P1"):
        await bus.handle(enrol_command(voucher.voucher_id, approved_elsewhere.institution_id,
                                       await present(bus, voucher.voucher_id)))


@pytest.mark.policy("V2")
async def test_V2_only_the_holder_gets_a_token_and_only_for_an_issued_voucher(bus, db):
    institution = await catalogue(bus)
    voucher = await issue(bus)
    await issue(bus, rid=OTHER_RID)  # the other person is known, with a voucher of their own
    for stranger_asks in (lambda: present(bus, voucher.voucher_id, OTHER_PERSON),
                          lambda: present(bus, "vch_not_there")):
        with pytest.raises(PermissionDenied, match="V2"):
            await stranger_asks()
    with pytest.raises(PermissionDenied):  # not even the institution or the bureau
        await present(bus, voucher.voucher_id, Actor(ActorKind.INSTITUTION, institution))
    await bus.handle(enrol_command(voucher.voucher_id, institution, await present(bus, voucher.voucher_id)))
    with pytest.raises(FailedPrecondition) as err:
        await present(bus, voucher.voucher_id)
    assert refusal(err)[0] == "V2"


# -- V1: persons ----------------------------------------------------------------------------------
@pytest.mark.policy("V1")
async def test_V1_a_voucher_makes_its_holder_a_known_person_sealed_and_masked(bus, db):
    await catalogue(bus)
    await issue(bus)
    person = db.tables["persons"][HOLDER.subject]
    assert (person.name, person.id_masked, VAULT.unseal(person.id_sealed)) == ("张三", RID[:6] + "*" * 8 + RID[-4:], RID)
    [created] = db.audit_for(HOLDER.subject)
    assert (created.aggregate_type, created.state_before, created.state_after, created.command) == (
        "person", "", "recorded", "IssueVoucher")
    await issue(bus, name="张三丰", code=OTHER_CODE)  # a later voucher with a corrected name refreshes it
    assert db.tables["persons"][HOLDER.subject].name == "张三丰"
    assert len(db.audit_for(HOLDER.subject)) == 1


@pytest.mark.policy("V1", "V3")
async def test_V1_a_certificate_makes_its_holder_a_known_person_too(bus, db):
    await catalogue(bus)
    await bus.handle(record(rid=OTHER_RID))
    assert VAULT.unseal(db.tables["persons"][OTHER_PERSON.subject].id_sealed) == OTHER_RID


@pytest.mark.policy("V1", "X1")
async def test_V1_only_the_person_themself_sees_their_full_id(bus, queries):
    await catalogue(bus)
    await issue(bus)
    own = await queries.get_person(HOLDER, "")
    assert (own.resident_id, own.person.name, own.person.id_masked) == (RID, "张三", RID[:6] + "*" * 8 + RID[-4:])
    assert (await queries.get_person(HOLDER, RID)).resident_id == RID  # naming themself is fine too
    for staff in (ADMIN, REVIEWER):
        seen = await queries.get_person(staff, RID)
        assert seen.resident_id == "" and seen.person.id_masked == RID[:6] + "*" * 8 + RID[-4:]
    with pytest.raises(PermissionDenied):
        await queries.get_person(OTHER_PERSON, RID)
    with pytest.raises(NotFound):
        await queries.get_person(OTHER_PERSON, "")  # a person no voucher names yet
    with pytest.raises(InvalidArgument) as err:
        await queries.get_person(ADMIN, "")
    assert [v.field for v in err.value.violations] == ["resident_id"]
    with pytest.raises(InvalidArgument):
        await queries.get_person(ADMIN, RID[:-1] + ("0" if RID[-1] != "0" else "1"))  # a wrong check digit


@pytest.mark.policy("V2", "X1")
async def test_a_person_sees_only_their_own_vouchers(bus, queries):
    await catalogue(bus)
    mine, theirs = await issue(bus), await issue(bus, rid=OTHER_RID)
    assert [v.voucher_id for v in await queries.list_vouchers(HOLDER, None, 10, None)] == [mine.voucher_id]
    assert (await queries.get_voucher(HOLDER, mine.voucher_id)).voucher_id == mine.voucher_id
    with pytest.raises(NotFound):
        await queries.get_voucher(HOLDER, theirs.voucher_id)
    assert {v.voucher_id for v in await queries.list_vouchers(ADMIN, None, 10, None)} == {
        mine.voucher_id, theirs.voucher_id}


@pytest.mark.policy("A6")
async def test_A6_an_admin_sets_hardship_groups_from_a_date_audited(bus, db):
    await catalogue(bus)
    await issue(bus)
    person = await bus.handle(commands.SetHardshipGroups(
        actor=ADMIN.for_request("hs-1"), resident_id=RID, effective_from=date(2025, 3, 1),
        groups=(HardshipGroup.ZERO_EMPLOYMENT_FAMILY, HardshipGroup.EMPLOYMENT_DIFFICULTY)))
    stored = db.tables["persons"][HOLDER.subject]
    assert stored.hardship_groups == {HardshipGroup.ZERO_EMPLOYMENT_FAMILY, HardshipGroup.EMPLOYMENT_DIFFICULTY}
    assert stored.hardship_effective_from == date(2025, 3, 1) and person.hardship_groups == stored.hardship_groups
    await bus.handle(commands.SetHardshipGroups(actor=ADMIN, resident_id=RID, groups=(),
                                                effective_from=date(2025, 6, 1)))
    assert [(r.command, r.request_id, r.state_before, r.state_after) for r in db.audit_for(HOLDER.subject)][1:] == [
        ("SetHardshipGroups", "hs-1", "recorded", "hardship:DZ@2025-03-01"),
        ("SetHardshipGroups", "", "hardship:DZ@2025-03-01", "hardship:-@2025-06-01")]
    # announced for claim_svc's living allowance (A6), the person named only sealed, hashed and masked
    events = db.events_of_type("person.hardship_groups_set")
    assert [(e.aggregate_id, list(e.payload.groups), e.payload.effective_from.month) for e in events] == [
        (HOLDER.subject, ["employment_difficulty", "zero_employment_family"], 3), (HOLDER.subject, [], 6)]
    assert RID.encode() not in events[0].payload.SerializeToString()


@pytest.mark.policy("A6")
async def test_A6_bad_hardship_input_names_every_field_and_only_an_admin_may_set_it(bus, db):
    await catalogue(bus)
    await issue(bus)
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.SetHardshipGroups(
            actor=ADMIN, resident_id="123", effective_from=date(1999, 1, 1),
            groups=(HardshipGroup.ZERO_EMPLOYMENT_FAMILY, None, HardshipGroup.ZERO_EMPLOYMENT_FAMILY)))
    assert [v.field for v in err.value.violations] == ["resident_id", "groups[1]", "groups[2]", "effective_from"]
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.SetHardshipGroups(actor=ADMIN, resident_id=RID, effective_from=None,
                                                    groups=(None,) * 100))
    assert [v.field for v in err.value.violations] == ["groups", "effective_from"]
    with nothing_stored(db), pytest.raises(NotFound):
        await bus.handle(commands.SetHardshipGroups(actor=ADMIN, resident_id=OTHER_RID, groups=(),
                                                    effective_from=date(2025, 3, 1)))
    for not_admin in (REVIEWER, HOLDER, Actor(ActorKind.INSTITUTION, "ins_1")):
        with nothing_stored(db), pytest.raises(PermissionDenied):
            await bus.handle(commands.SetHardshipGroups(actor=not_admin, resident_id=RID, groups=(),
                                                        effective_from=date(2025, 3, 1)))


# -- V3: who records certificates ----------------------------------------------------------------
@pytest.mark.policy("V3")
async def test_V3_an_evaluation_body_or_the_bureau_records_certificates_naming_the_issuer(bus, db):
    await catalogue(bus)
    by_body = await bus.handle(record())
    by_bureau = await bus.handle(record(actor=ADMIN, number=skill_level_certificate_number(
        LEVEL, ISSUED_ON, 8, random.Random(0))))
    assert db.tables["certificates"][by_body.certificate_id].issuer == "eval-1"
    assert db.tables["certificates"][by_bureau.certificate_id].issuer == "bureau"


@pytest.mark.policy("V3")
async def test_V3_neither_an_institution_nor_the_holder_records_a_certificate(bus, db):
    institution = await catalogue(bus)
    await issue(bus)
    for actor in (Actor(ActorKind.INSTITUTION, institution), HOLDER, REVIEWER):
        with nothing_stored(db), pytest.raises(PermissionDenied):
            await bus.handle(record(actor=actor))


@pytest.mark.policy("V3")
async def test_V3_a_number_off_its_types_format_is_invalid(bus, db):
    await catalogue(bus)
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(record(number="S2025-0001"))
    assert [v.field for v in err.value.violations] == ["certificate_number"]
    await bus.handle(record(number="PX-2025-0001", kind=CertificateType.TRAINING_QUALIFIED))  # locally numbered
