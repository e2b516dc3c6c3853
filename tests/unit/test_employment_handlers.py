"""RecordEmployment, valuation at RedeemVoucher (A2-A4) and the A5 top-up, on the in-memory unit of work.

Every command goes through the real bus from ``voucher_svc.bootstrap.bootstrap``; what is checked
is read back from the fake database and its outbox.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest

from skillpay.actors import Actor, ActorKind
from skillpay.cli.sample_data import credit_code, resident_id, skill_level_certificate_number
from skillpay.clock import FixedClock
from skillpay.errors import InvalidArgument, PermissionDenied
from skillpay.events.v1 import events_pb2
from skillpay.pii import PiiVault
from tests.fakes import FakeFundDirectory, FakeVoucherUnitOfWork
from tests.presenting import presented
from tests.unit.test_voucher_handlers import nothing_stored, violated_fields
from voucher_svc.bootstrap import bootstrap
from voucher_svc.domain.employment import EmploymentSource, employment_id_for
from voucher_svc.domain.model import CertificateType, VoucherState, top_up_id_for
from voucher_svc.domain.valuation import ValuationPolicy
from voucher_svc.entrypoints.grpc_server import on_payment_failed, on_payment_settled
from voucher_svc.service_layer import commands
from voucher_svc.service_layer.queries import VoucherQueries

pytestmark = pytest.mark.unit

NOW = datetime(2025, 6, 30, 18, 30, tzinfo=timezone.utc)  # 2025-07-01 in Shanghai
ISSUED_ON = date(2025, 3, 1)  # the certificate: the A2 window ends 2025-06-01
VAULT = PiiVault(bytes(32), bytes(range(32)))
ADMIN = Actor(ActorKind.ADMIN, "admin-1")
RID = resident_id(random.Random(1))
OTHER_RID = resident_id(random.Random(2))
CODE, LEVEL, STANDARD = "6-31-01-03", 4, 150_000
EMPLOYER = credit_code(random.Random(9))


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
    return bootstrap(uows, VAULT, FakeFundDirectory({"esf-2025"}), clock=clock)


def _as(institution_id: str, request_id: str = "") -> Actor:
    return Actor(ActorKind.INSTITUTION, institution_id, request_id)


async def employment(bus, start=date(2025, 3, 2), rid=RID, employer=EMPLOYER, source=EmploymentSource.LABOUR_CONTRACT,
                     actor=ADMIN, name="张三"):
    return await bus.handle(commands.RecordEmployment(
        actor=actor, resident_id=rid, name=name, employer_credit_code=employer, employer_name="南阳电力安装有限公司",
        start_date=start, source=source))


def certificate_number(certificate_type: CertificateType, seed: str) -> str:
    """A number in the type's format (V3), the level and year agreeing with the certificate's."""
    rng = random.Random(seed)
    if certificate_type is CertificateType.SKILL_LEVEL:
        return skill_level_certificate_number(LEVEL, ISSUED_ON, rng=rng)
    if certificate_type is CertificateType.VOCATIONAL_QUALIFICATION:
        return f"{ISSUED_ON.year % 100:02d}4113{rng.randrange(5)}{rng.randrange(1000):03d}{LEVEL}{rng.randrange(1, 100000):05d}"
    return f"LOCAL-{seed}-{rng.randrange(10**6):06d}"


async def redeemed(bus, certificate_type=CertificateType.SKILL_LEVEL, new_occupation=False, rid=RID, number="S1",
                   code=CODE):
    await bus.handle(commands.RegisterOccupation(actor=ADMIN, code=code, name="电工", level=LEVEL,
                                                 subsidy_standard_fen=STANDARD, new_occupation=new_occupation,
                                                 effective_from=date(2020, 1, 1)))
    ins = await bus.handle(commands.RegisterInstitution(
        actor=ADMIN, name="蓝天职业培训学校", credit_code=credit_code(random.Random(number)), address="北京",
        occupation_codes=(code,)))
    voucher = await bus.handle(commands.IssueVoucher(
        actor=ADMIN, resident_id=rid, name="张三", occupation_code=code, level=LEVEL, fund_source="esf-2025",
        batch_id="b1", valid_until=NOW + timedelta(days=180)))
    await bus.handle(commands.EnrolVoucher(actor=_as(ins.institution_id), voucher_id=voucher.voucher_id,
                                           institution_id=ins.institution_id, real_person_verified=True,
                                           presentation_token=await presented(bus, voucher)))
    cert = await bus.handle(commands.RecordCertificate(
        actor=ADMIN, resident_id=rid, name="张三", certificate_number=certificate_number(certificate_type, number),
        certificate_type=certificate_type,
        occupation_code=code, level=LEVEL, issued_on=ISSUED_ON))
    return await bus.handle(commands.RedeemVoucher(actor=_as(ins.institution_id), voucher_id=voucher.voucher_id,
                                                   certificate_id=cert.certificate_id))


# -- RecordEmployment ----------------------------------------------------------------------------------
async def test_record_employment_stores_the_evidence_sealed_and_announces_it(bus, db):
    record = await employment(bus, actor=Actor(ActorKind.ADMIN, "bureau-1"))
    stored = db.tables["employment"][record.employment_id]
    assert record.employment_id == employment_id_for(VAULT.lookup_hash(RID), EMPLOYER, date(2025, 3, 2),
                                                     EmploymentSource.LABOUR_CONTRACT)
    assert (stored.employer_credit_code, stored.start_date, stored.source, stored.recorded_by, stored.recorded_at) == (
        EMPLOYER, date(2025, 3, 2), EmploymentSource.LABOUR_CONTRACT, "admin:bureau-1", NOW)
    assert stored.person.id_masked == RID[:6] + "*" * 8 + RID[-4:] and VAULT.unseal(stored.person.id_sealed) == RID
    [event] = db.events_of_type("employment.recorded")
    payload: events_pb2.EmploymentRecorded = event.payload
    assert event.aggregate_id == VAULT.lookup_hash(RID)
    assert (payload.employment_id, payload.employer_credit_code, payload.source, payload.recorded_by) == (
        record.employment_id, EMPLOYER, "labour_contract", "admin:bureau-1")
    assert (payload.start_date.year, payload.start_date.month, payload.start_date.day) == (2025, 3, 2)
    assert RID.encode() not in payload.SerializeToString()  # only sealed, hashed and masked
    assert db.person_locks == [VAULT.lookup_hash(RID)]
    assert [(r.state_before, r.state_after, r.command) for r in db.audit_for(record.employment_id)] == [
        ("", "recorded", "RecordEmployment")]


@pytest.mark.policy("A2", "X1")
async def test_an_institution_records_employment_only_for_its_own_trainees(bus, db):
    voucher = await redeemed(bus)
    trainer = db.tables["vouchers"][voucher.voucher_id].institution_id
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await employment(bus, actor=_as("ins_elsewhere"))
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await employment(bus, rid=OTHER_RID, actor=_as(trainer))  # not its trainee
    record = await employment(bus, actor=_as(trainer))
    assert record.recorded_by == f"institution:{trainer}"


async def test_the_same_evidence_again_returns_the_first_record_and_changes_nothing(bus, db):
    first = await employment(bus)
    before = db.snapshot()
    again = await employment(bus, actor=Actor(ActorKind.ADMIN, "admin-2"))  # someone else: the same fact
    assert again.employment_id == first.employment_id and again.recorded_by == "admin:admin-1"
    assert (db.tables, db.outbox, db.audit_records) == before[:3]
    # Another source or start date is other evidence.
    await employment(bus, source=EmploymentSource.SOCIAL_INSURANCE)
    await employment(bus, start=date(2025, 3, 1))
    assert len(db.tables["employment"]) == 3


async def test_bad_employment_input_names_every_field_and_stores_nothing(bus, db):
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.RecordEmployment(
            actor=ADMIN, resident_id="110105199001011235", name="", employer_credit_code="91110000X",
            employer_name="x" * 65, start_date=date(2025, 7, 2), source=None))  # tomorrow in Shanghai
    assert violated_fields(err) == {"resident_id", "name", "employer_credit_code", "employer_name", "start_date",
                                    "source"}
    assert "110105199001011235" not in str(err.value)
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await employment(bus, start=date(1989, 12, 31))
    assert violated_fields(err) == {"start_date"}
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.RecordEmployment(
            actor=ADMIN, resident_id=RID, name="张三", employer_credit_code=EMPLOYER, employer_name="公司",
            start_date=None, source=EmploymentSource.SELF_EMPLOYMENT))
    assert violated_fields(err) == {"start_date"}


@pytest.mark.parametrize("kind", [ActorKind.PERSON, ActorKind.REVIEWER, ActorKind.FINANCE, ActorKind.SERVICE])
async def test_only_the_bureau_and_institutions_record_employment(bus, db, kind):
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await employment(bus, actor=Actor(kind, "x"))


async def test_list_employment_pages_a_persons_evidence_latest_start_first(bus, uows):
    for day in (1, 2, 3):
        await employment(bus, start=date(2025, 2, day))
    await employment(bus, rid=OTHER_RID)
    first, token = await VoucherQueries(uows, VAULT).list_employment(RID, 2, "")
    second, last = await VoucherQueries(uows, VAULT).list_employment(RID, 2, token)
    assert [e.start_date.day for e in first + second] == [3, 2, 1] and token and not last
    with pytest.raises(InvalidArgument) as err:
        await VoucherQueries(uows, VAULT).list_employment("12345", 10, "")
    assert violated_fields(err) == {"resident_id"}


# -- A2-A4 at redemption ----------------------------------------------------------------------------
@pytest.mark.policy("A2")
async def test_A2_employment_known_at_redemption_pays_the_whole_standard(bus, db):
    await employment(bus, start=date(2025, 3, 2))
    voucher = await redeemed(bus)
    stored = db.tables["vouchers"][voucher.voucher_id]
    assert (stored.value_fen, stored.rate_percent, stored.valuation_rule, stored.standard_fen) == (
        STANDARD, 100, "A2", STANDARD)
    assert (stored.employment_window_start, stored.employment_window_end) == (None, date(2025, 6, 1))
    [event] = db.events_of_type("voucher.redeemed")
    assert (event.payload.value_fen, event.payload.rate_percent, event.payload.valuation_rule,
            event.payload.standard_fen) == (STANDARD, 100, "A2", STANDARD)
    assert (event.payload.employment_window_end.month, event.payload.employment_window_end.day) == (6, 1)


@pytest.mark.policy("A3", "A4")
@pytest.mark.parametrize(("certificate_type", "new_occupation", "rule", "value"), [
    (CertificateType.SKILL_LEVEL, False, "A3", 120_000),
    (CertificateType.TRAINING_QUALIFIED, True, "A3", 120_000),
    (CertificateType.TRAINING_QUALIFIED, False, "A4", 75_000),
])
async def test_A3_A4_without_employment_the_certificate_decides(bus, db, certificate_type, new_occupation, rule,
                                                                 value):
    await employment(bus, rid=OTHER_RID)  # someone else's job is not this person's
    voucher = await redeemed(bus, certificate_type, new_occupation)
    stored = db.tables["vouchers"][voucher.voucher_id]
    assert (stored.value_fen, stored.valuation_rule) == (value, rule)


@pytest.mark.policy("A2")
async def test_A2_a_configured_policy_is_injected_through_bootstrap(uows, clock, db):
    bus = bootstrap(uows, VAULT, FakeFundDirectory({"esf-2025"}), clock=clock,
                    valuation=ValuationPolicy(certified_percent=70))
    voucher = await redeemed(bus)
    assert db.tables["vouchers"][voucher.voucher_id].value_fen == 105_000


# -- A5 top-up ------------------------------------------------------------------------------------
@pytest.mark.policy("A5")
async def test_A5_employment_recorded_after_redemption_tops_up_once(bus, db, clock):
    voucher = await redeemed(bus)
    clock.advance(timedelta(days=10))
    await employment(bus, start=date(2025, 3, 10))
    stored = db.tables["vouchers"][voucher.voucher_id]
    assert (stored.value_fen, stored.topped_up_fen, stored.topped_up_at) == (120_000, 30_000, clock.now())
    [event] = db.events_of_type("voucher.topped_up")
    payload: events_pb2.VoucherToppedUp = event.payload
    assert event.aggregate_id == voucher.voucher_id  # ordered after voucher.redeemed on the voucher's partition
    assert (payload.top_up_id, payload.value_fen, payload.top_up_fen, payload.standard_fen, payload.fund_source) == (
        top_up_id_for(voucher.voucher_id, stored.certificate_id), 120_000, 30_000, STANDARD, "esf-2025")
    assert [r.state_after for r in db.audit_for(voucher.voucher_id)][-1] == "redeemed+top_up"
    # The same evidence again, other evidence in the window, a retry with the same request id: nothing more.
    await employment(bus, start=date(2025, 3, 10))
    await employment(bus, start=date(2025, 4, 1), employer=credit_code(random.Random(10)))
    retry = Actor(ActorKind.ADMIN, "admin-2", "emp-1")
    await employment(bus, start=date(2025, 5, 1), actor=retry)
    await employment(bus, start=date(2025, 5, 1), actor=retry)
    assert len(db.events_of_type("voucher.topped_up")) == 1
    assert db.tables["vouchers"][voucher.voucher_id].topped_up_fen == 30_000
    assert len(db.events_of_type("employment.recorded")) == 3  # 03-10, 04-01, 05-01


@pytest.mark.policy("A5")
async def test_A5_a_paid_voucher_is_topped_up_and_a_training_qualified_one_by_half(bus, db):
    voucher = await redeemed(bus, CertificateType.TRAINING_QUALIFIED)
    await bus.handle(commands.MarkVoucherPaid(actor=Actor(ActorKind.SERVICE, "ledger"), voucher_id=voucher.voucher_id,
                                              payment_id="po_1", paid_at=NOW))
    await employment(bus, start=date(2025, 6, 1))  # the window's last day
    stored = db.tables["vouchers"][voucher.voucher_id]
    assert (stored.state, stored.value_fen, stored.topped_up_fen) == (VoucherState.PAID, 75_000, 75_000)


@pytest.mark.policy("A5")
async def test_A5_employment_after_the_window_or_for_an_A2_voucher_tops_up_nothing(bus, db):
    late = await redeemed(bus)
    await employment(bus, start=date(2025, 6, 2), rid=RID)  # the day after the window
    await employment(bus, start=date(2025, 3, 2), rid=OTHER_RID)
    full = await redeemed(bus, rid=OTHER_RID, number="S2", code="6-31-01-04")
    await employment(bus, start=date(2025, 3, 3), rid=OTHER_RID)
    assert db.tables["vouchers"][late.voucher_id].topped_up_fen == 0
    assert db.tables["vouchers"][full.voucher_id].valuation_rule == "A2"
    assert db.tables["vouchers"][full.voucher_id].topped_up_fen == 0
    assert db.events_of_type("voucher.topped_up") == []


@pytest.mark.policy("A5")
async def test_A5_a_vouchers_state_follows_its_own_payment_not_its_top_ups(bus, db):
    def settled(line_kind: str, event_type="payment.settled", message=events_pb2.PaymentSettled):
        payload = message(payment_id="po_x", references={"voucher_id": "vch_1", "line_kind": line_kind})
        return events_pb2.EventEnvelope(event_id="e1", event_type=event_type, producer="ledger",
                                        payload=payload.SerializeToString())

    assert on_payment_settled(settled("top_up")) is None
    assert on_payment_failed(settled("top_up", "payment.failed", events_pb2.PaymentFailed)) is None
    assert on_payment_settled(settled("voucher_subsidy")).voucher_id == "vch_1"
