"""The catalogue commands on the in-memory unit of work (tests/fakes.py), through the real bus:
occupation versions (A1) and institution status (P1, X3)."""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest

from skillpay.actors import Actor, ActorKind
from skillpay.cli.sample_data import credit_code, resident_id, skill_level_certificate_number
from skillpay.clock import FixedClock
from skillpay.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from skillpay.events.v1 import events_pb2
from skillpay.pii import PiiVault
from tests.fakes import FakeFundDirectory, FakeVoucherUnitOfWork
from tests.presenting import presented
from voucher_svc.bootstrap import bootstrap
from voucher_svc.domain.catalogue_query import InstitutionFilter, OccupationFilter
from voucher_svc.domain.model import BankAccount, CertificateType, InstitutionNature, InstitutionStatus, VoucherState
from voucher_svc.service_layer import commands

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=timezone.utc)  # 2025-03-03 in Shanghai
VALID_UNTIL = NOW + timedelta(days=180)
VAULT = PiiVault(bytes(32), bytes(range(32)))
ADMIN = Actor(ActorKind.ADMIN, "admin-1")
CODE, LEVEL = "6-31-01-03", 4
ACCOUNT = ("6222020200112233445", "蓝天职业培训学校", "102100099996")


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
def bus(uows, clock):
    return bootstrap(uows, VAULT, FakeFundDirectory({"esf"}), clock=clock)


@contextmanager
def nothing_stored(db):
    before = db.snapshot()
    yield
    assert (db.tables, db.outbox, db.audit_records, db.idempotency) == before


def fields_of(err) -> set[str]:
    return {v.field for v in err.value.violations}


def school(institution_id: str) -> Actor:
    return Actor(ActorKind.INSTITUTION, institution_id)


async def register(bus, standard=100_000, effective_from=date(2020, 1, 1), **terms):
    return await bus.handle(commands.RegisterOccupation(actor=ADMIN, code=CODE, name="电工", level=LEVEL,
                                                        subsidy_standard_fen=standard, effective_from=effective_from,
                                                        **terms))


async def revise(bus, effective_from, standard=200_000, actor=ADMIN, **terms):
    return await bus.handle(commands.ReviseOccupation(actor=actor, code=CODE, level=LEVEL, name="电工",
                                                      subsidy_standard_fen=standard, effective_from=effective_from,
                                                      **terms))


async def institution(bus, seed=1, **kwargs):
    return await bus.handle(commands.RegisterInstitution(actor=ADMIN, name="蓝天职业培训学校",
                                                         credit_code=credit_code(random.Random(seed)),
                                                         address="北京", occupation_codes=(CODE,), **kwargs))


async def enrolled(bus, ins, seed):
    rid = resident_id(random.Random(seed))
    voucher = await bus.handle(commands.IssueVoucher(actor=ADMIN, resident_id=rid, name="张三", occupation_code=CODE,
                                                     level=LEVEL, fund_source="esf", batch_id="b1",
                                                     valid_until=VALID_UNTIL))
    await bus.handle(commands.EnrolVoucher(actor=school(ins.institution_id), voucher_id=voucher.voucher_id,
                                           institution_id=ins.institution_id, real_person_verified=True,
                                           presentation_token=await presented(bus, voucher)))
    return voucher, rid


async def certificate(bus, rid, issued_on, serial):
    return await bus.handle(commands.RecordCertificate(
        actor=ADMIN, resident_id=rid, name="张三",
        certificate_number=skill_level_certificate_number(LEVEL, issued_on, serial, random.Random(serial)),
        certificate_type=CertificateType.SKILL_LEVEL, occupation_code=CODE, level=LEVEL, issued_on=issued_on))


async def redeem(bus, voucher, cert, ins):
    return await bus.handle(commands.RedeemVoucher(actor=school(ins.institution_id), voucher_id=voucher.voucher_id,
                                                   certificate_id=cert.certificate_id))


# ------------------------------------------------------------------------------ occupation versions
@pytest.mark.policy("A1")
async def test_A1_register_without_a_start_is_in_force_from_today_in_shanghai(bus, db):
    registered = await bus.handle(commands.RegisterOccupation(
        actor=ADMIN, code=CODE, name="电工", level=LEVEL, subsidy_standard_fen=1, min_class_hours=60,
        practical_oriented=True, region="110105"))
    stored = db.tables["occupation_versions"][(CODE, LEVEL, 1)]
    assert stored == registered
    assert (stored.effective_from, stored.min_class_hours, stored.practical_oriented, stored.region) == (
        date(2025, 3, 3), 60, True, "110105")


@pytest.mark.policy("A1")
async def test_A1_revise_writes_a_new_version_and_ends_the_previous_one_audited_as_one_entry(bus, db):
    await register(bus)
    revised = await revise(bus, date(2025, 1, 1), min_class_hours=40)
    versions = db.tables["occupation_versions"]
    assert versions[(CODE, LEVEL, 1)].effective_to == date(2024, 12, 31)
    assert versions[(CODE, LEVEL, 2)] == revised
    assert (revised.version, revised.subsidy_standard_fen, revised.effective_to) == (2, 200_000, None)
    assert [(r.command, r.aggregate_id, r.state_before, r.state_after) for r in db.audit_for(f"{CODE}|{LEVEL}")] == [
        ("RegisterOccupation", f"{CODE}|{LEVEL}", "", "v1 2020-01-01.."),
        ("ReviseOccupation", f"{CODE}|{LEVEL}", "v1 2020-01-01..", "v1 2020-01-01..2024-12-31"),
        ("ReviseOccupation", f"{CODE}|{LEVEL}", "", "v2 2025-01-01.."),
    ]
    third = await revise(bus, date(2025, 3, 1), standard=210_000)
    assert third.version == 3 and versions[(CODE, LEVEL, 2)].effective_to == date(2025, 2, 28)


@pytest.mark.policy("A1")
async def test_A1_revise_not_after_the_latest_start_is_refused_and_changes_nothing(bus, db):
    await register(bus)
    await revise(bus, date(2025, 1, 1))
    for start in (date(2025, 1, 1), date(2024, 6, 1)):
        with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
            await revise(bus, start)
        assert [v.type for v in err.value.violations] == ["A1"]


async def test_revise_names_every_bad_field_before_looking_anything_up(bus, db):
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.ReviseOccupation(actor=ADMIN, code="a b", level=0, name="", subsidy_standard_fen=-1,
                                                   min_class_hours=9_999, region="12", effective_from=None))
    assert fields_of(err) == {"code", "level", "name", "subsidy_standard_fen", "min_class_hours", "region",
                              "effective_from"}
    with nothing_stored(db), pytest.raises(NotFound):
        await revise(bus, date(2025, 1, 1))
    await register(bus)
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await revise(bus, date(2025, 1, 1), actor=Actor(ActorKind.FINANCE, "f"))


@pytest.mark.policy("A1")
async def test_A1_redemption_is_valued_by_the_version_in_force_on_the_certificate_date(bus, db):
    await register(bus, standard=100_000)
    ins = await institution(bus)
    await revise(bus, date(2025, 3, 2), standard=200_000)  # the standard changed between the two certificates
    old_voucher, old_rid = await enrolled(bus, ins, 1)
    new_voucher, new_rid = await enrolled(bus, ins, 2)
    old = await redeem(bus, old_voucher, await certificate(bus, old_rid, date(2025, 3, 1), 1), ins)
    new = await redeem(bus, new_voucher, await certificate(bus, new_rid, date(2025, 3, 2), 2), ins)
    # A skill-level certificate without employment: A3's 80% of the standard in force on its date
    assert (old.standard_fen, new.standard_fen) == (100_000, 200_000)
    assert (old.value_fen, new.value_fen) == (80_000, 160_000)
    values = {e.aggregate_id: e.payload.value_fen for e in db.events_of_type("voucher.redeemed")}
    assert values == {old_voucher.voucher_id: 80_000, new_voucher.voucher_id: 160_000}


@pytest.mark.policy("A1")
async def test_A1_a_certificate_dated_before_the_catalogue_entry_redeems_nothing(bus, db):
    await register(bus, effective_from=date(2025, 3, 1))
    ins = await institution(bus)
    voucher, rid = await enrolled(bus, ins, 1)
    cert = await certificate(bus, rid, date(2025, 2, 28), 1)
    with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
        await redeem(bus, voucher, cert, ins)
    assert [(v.type, v.subject) for v in err.value.violations] == [("A1", "occupation")]
    assert db.tables["vouchers"][voucher.voucher_id].state is VoucherState.ENROLLED


@pytest.mark.policy("A1")
async def test_A1_a_voucher_is_issued_only_for_an_occupation_in_force_on_the_issue_date(bus, db):
    await register(bus, effective_from=date(2025, 3, 4))  # from tomorrow
    with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
        await bus.handle(commands.IssueVoucher(actor=ADMIN, resident_id=resident_id(random.Random(1)), name="张三",
                                               occupation_code=CODE, level=LEVEL, fund_source="esf", batch_id="b1",
                                               valid_until=VALID_UNTIL))
    assert [v.type for v in err.value.violations] == ["A1"]
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:  # not in the catalogue at all
        await bus.handle(commands.IssueVoucher(actor=ADMIN, resident_id=resident_id(random.Random(1)), name="张三",
                                               occupation_code="9-99", level=LEVEL, fund_source="esf",
                                               batch_id="b1", valid_until=VALID_UNTIL))
    assert fields_of(err) == {"occupation_code"}


# ------------------------------------------------------------------------------ institutions
@pytest.mark.policy("P1")
async def test_P1_register_institution_with_nature_region_and_bank_account(bus, db):
    await register(bus)
    ins = await institution(bus, nature=InstitutionNature.PUBLIC, region="110105", bank_account=ACCOUNT)
    stored = db.tables["institutions"][ins.institution_id]
    assert (stored.nature, stored.region, stored.bank_account) == (InstitutionNature.PUBLIC, "110105",
                                                                   BankAccount(*ACCOUNT))
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await institution(bus, seed=2, region="x", bank_account=("1", "", ""))
    assert fields_of(err) == {"region", "bank_account.account_number", "bank_account.account_name",
                              "bank_account.bank_code"}


@pytest.mark.policy("X3")
async def test_X3_suspension_stops_enrolment_and_redemption_until_reinstated(bus, db):
    await register(bus)
    ins = await institution(bus)
    voucher, rid = await enrolled(bus, ins, 1)
    cert = await certificate(bus, rid, date(2025, 3, 1), 1)
    suspended = await bus.handle(commands.SuspendInstitution(actor=ADMIN, institution_id=ins.institution_id,
                                                             reason="虚假培训调查中"))
    assert (suspended.status, suspended.status_reason, suspended.status_changed_at) == (
        InstitutionStatus.SUSPENDED, "虚假培训调查中", NOW)
    [event] = db.events_of_type("institution.status_changed")
    assert event.aggregate_id == ins.institution_id
    assert event.payload == events_pb2.InstitutionStatusChanged(
        institution_id=ins.institution_id, status="suspended", previous_status="active", reason="虚假培训调查中",
        changed_at=event.payload.changed_at)
    assert [(r.command, r.state_before, r.state_after) for r in db.audit_for(ins.institution_id)][-1] == (
        "SuspendInstitution", "active", "suspended")

    with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
        await redeem(bus, voucher, cert, ins)
    assert [v.type for v in err.value.violations] == ["X3"]
    rid2 = resident_id(random.Random(2))
    fresh = await bus.handle(commands.IssueVoucher(actor=ADMIN, resident_id=rid2, name="李四", occupation_code=CODE,
                                                   level=LEVEL, fund_source="esf", batch_id="b1",
                                                   valid_until=VALID_UNTIL))
    with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
        await bus.handle(commands.EnrolVoucher(actor=school(ins.institution_id), voucher_id=fresh.voucher_id,
                                               institution_id=ins.institution_id, real_person_verified=True,
                                               presentation_token=await presented(bus, fresh)))
    assert [v.type for v in err.value.violations] == ["X3"]

    await bus.handle(commands.ReinstateInstitution(actor=ADMIN, institution_id=ins.institution_id))
    assert (await redeem(bus, voucher, cert, ins)).state is VoucherState.REDEEMED
    await bus.handle(commands.EnrolVoucher(actor=school(ins.institution_id), voucher_id=fresh.voucher_id,
                                           institution_id=ins.institution_id, real_person_verified=True,
                                           presentation_token=await presented(bus, fresh)))
    assert db.tables["vouchers"][fresh.voucher_id].state is VoucherState.ENROLLED
    assert [e.payload.status for e in db.events_of_type("institution.status_changed")] == ["suspended", "active"]


@pytest.mark.policy("X3")
async def test_X3_a_removed_institution_never_comes_back(bus, db):
    await register(bus)
    ins = await institution(bus)
    await bus.handle(commands.RemoveInstitution(actor=ADMIN, institution_id=ins.institution_id, reason="骗取补贴"))
    assert db.tables["institutions"][ins.institution_id].status is InstitutionStatus.REMOVED
    for command in (commands.ReinstateInstitution(actor=ADMIN, institution_id=ins.institution_id),
                    commands.SuspendInstitution(actor=ADMIN, institution_id=ins.institution_id, reason="x"),
                    commands.RemoveInstitution(actor=ADMIN, institution_id=ins.institution_id, reason="x"),
                    commands.UpdateInstitutionBankAccount(actor=ADMIN, institution_id=ins.institution_id,
                                                          account_number=ACCOUNT[0], account_name=ACCOUNT[1],
                                                          bank_code=ACCOUNT[2])):
        with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
            await bus.handle(command)
        assert [v.type for v in err.value.violations] == ["X3"]


async def test_status_commands_name_every_bad_field_check_existence_and_are_for_admins(bus, db):
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.SuspendInstitution(actor=ADMIN, institution_id="bad id!", reason=" "))
    assert fields_of(err) == {"institution_id", "reason"}
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.UpdateInstitutionBankAccount(actor=ADMIN, institution_id="", account_number="x",
                                                               account_name="", bank_code="1"))
    assert fields_of(err) == {"institution_id", "bank_account.account_number", "bank_account.account_name",
                              "bank_account.bank_code"}
    with nothing_stored(db), pytest.raises(NotFound):
        await bus.handle(commands.RemoveInstitution(actor=ADMIN, institution_id="ins_nope", reason="x"))
    await register(bus)
    ins = await institution(bus)
    for kind in (ActorKind.INSTITUTION, ActorKind.REVIEWER, ActorKind.PERSON):
        with nothing_stored(db), pytest.raises(PermissionDenied):
            await bus.handle(commands.SuspendInstitution(actor=Actor(kind, ins.institution_id),
                                                         institution_id=ins.institution_id, reason="x"))


async def test_a_bank_account_update_is_audited_once_and_the_same_account_again_changes_nothing(bus, db):
    await register(bus)
    ins = await institution(bus)
    update = commands.UpdateInstitutionBankAccount(actor=ADMIN, institution_id=ins.institution_id,
                                                   account_number=ACCOUNT[0], account_name=ACCOUNT[1],
                                                   bank_code=ACCOUNT[2])
    updated = await bus.handle(update)
    assert db.tables["institutions"][ins.institution_id].bank_account == BankAccount(*ACCOUNT) == updated.bank_account
    trail = db.audit_for(ins.institution_id)
    assert trail[-1].command == "UpdateInstitutionBankAccount" and trail[-1].state_before == "active"
    assert ACCOUNT[0] not in trail[-1].state_after
    await bus.handle(update)
    assert db.audit_for(ins.institution_id) == trail


# ------------------------------------------------------------------------------ the fakes' list queries
async def test_fake_lists_follow_the_filters(bus, uows):
    await register(bus)
    await revise(bus, date(2025, 1, 1), region="110105")
    await institution(bus, seed=1, region="110105")
    await institution(bus, seed=2)
    async with uows(read_only=True) as uow:
        assert [o.version for o in await uow.occupations.list(None, 10, date(2024, 6, 1), OccupationFilter())] == [1]
        assert await uow.occupations.list(None, 10, date(2024, 6, 1), OccupationFilter(region="110105")) == []
        assert [o.version for o in await uow.occupations.list(None, 10, date(2025, 6, 1),
                                                                 OccupationFilter(region="110105"))] == [2]
        assert len(await uow.institutions.list(None, 10, InstitutionFilter(region="110105"))) == 1
        assert len(await uow.institutions.list(None, 10, InstitutionFilter(name_contains="蓝天"))) == 2
