"""The message bus and the nestable unit of work, on the voucher service's real handlers and fakes.

Authorization from the permission table, request-id idempotency (AIP-155), savepoints for a
handler inside an open unit of work, one audit record per state change, and in-service
dispatch of domain events after commit.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from skillpay.actors import Actor, ActorKind, service_actor
from skillpay.clock import FixedClock
from skillpay.errors import AlreadyExists, FailedPrecondition, InvalidArgument, PermissionDenied
from skillpay.messagebus import MessageBus, inject
from skillpay.pii import PiiVault
from skillpay.cli.sample_data import credit_code, resident_id, skill_level_certificate_number
from tests.fakes import FakeFundDirectory, FakeVoucherUnitOfWork
from tests.presenting import presented
from voucher_svc.adapters.presentation import SignedPresentationTokens
from voucher_svc.bootstrap import bootstrap
from voucher_svc.domain.catalogue_query import OccupationFilter
from voucher_svc.domain.model import CertificateType, Occupation, VoucherRedeemed, VoucherState
from voucher_svc.entrypoints.grpc_server import OCCUPATION, VOUCHER
from voucher_svc.service_layer import commands
from voucher_svc.service_layer.handlers import HANDLERS
from voucher_svc.service_layer.permissions import PERMISSIONS

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=timezone.utc)
VAULT = PiiVault(bytes(32), bytes(range(32)))
ADMIN = Actor(ActorKind.ADMIN, "admin-1")
RID = resident_id(random.Random(7))
CODE, LEVEL = "6-31-01-03", 4


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


def register(code=CODE, level=LEVEL, actor=ADMIN, standard=150_000):
    return commands.RegisterOccupation(actor=actor, code=code, name="电工", level=level,
                                       subsidy_standard_fen=standard)


def issue(request_id: str, name="张三"):
    return commands.IssueVoucher(actor=ADMIN.for_request(request_id), resident_id=RID, name=name,
                                 occupation_code=CODE, level=LEVEL, fund_source="esf-2025", batch_id="2025-01",
                                 valid_until=NOW + timedelta(days=90))


# -- authorization -------------------------------------------------------------------------------
async def test_a_command_or_query_not_in_the_permission_table_is_denied_to_everyone(bus):
    for kind in ActorKind:
        with pytest.raises(PermissionDenied, match="not open to any role"):
            bus.authorize(Actor(kind, "x"), "DeleteAllVouchers")
    with pytest.raises(PermissionDenied, match="not identified"):
        bus.authorize(None, "GetVoucher")


async def test_a_bus_refuses_a_handler_without_a_permission_entry(uows):
    table = {name: kinds for name, kinds in PERMISSIONS.items() if name != "IssueVoucher"}
    with pytest.raises(ValueError, match="IssueVoucher"):
        MessageBus(uows, HANDLERS, table)


async def test_the_wrong_kind_of_actor_is_denied_and_nothing_runs(bus, db):
    for kind in (ActorKind.PERSON, ActorKind.INSTITUTION, ActorKind.SERVICE, ActorKind.FINANCE):
        with pytest.raises(PermissionDenied, match=f"a {kind.value} may not RegisterOccupation"):
            await bus.handle(register(actor=Actor(kind, "x", "req-1")))
    assert db.tables["occupations"] == {}
    assert db.audit_records == [] and db.idempotency == {} and db.commits == 0


# -- idempotency ---------------------------------------------------------------------------------
async def test_the_same_request_id_with_the_same_command_returns_the_first_reply_and_runs_once(bus, db):
    await bus.handle(register(actor=ADMIN.for_request("occ-1")), reply=OCCUPATION)
    first = await bus.handle(issue("req-1"), reply=VOUCHER)
    again = await bus.handle(issue("req-1"), reply=VOUCHER)
    assert again == first
    assert list(db.tables["vouchers"]) == [first.voucher_id]  # the handler made one voucher, not two
    assert [r.request_id for r in db.audit_records if r.aggregate_type == "voucher"] == ["req-1"]
    assert db.idempotency["req-1"].method == "IssueVoucher"
    # without the request id, the same command is another request: another voucher
    other = await bus.handle(issue("req-2"), reply=VOUCHER)
    assert other.voucher_id != first.voucher_id and len(db.tables["vouchers"]) == 2


async def test_the_same_request_id_with_another_command_is_already_exists(bus, db):
    await bus.handle(register(actor=ADMIN.for_request("occ-1")), reply=OCCUPATION)
    await bus.handle(issue("req-1"), reply=VOUCHER)
    before = db.snapshot()
    with pytest.raises(AlreadyExists, match="different request"):
        await bus.handle(issue("req-1", name="李四"), reply=VOUCHER)
    with pytest.raises(AlreadyExists):
        await bus.handle(register(code="1-01-01-01", actor=ADMIN.for_request("req-1")), reply=OCCUPATION)
    tables, outbox, audit_records, idempotency = before
    assert (db.tables, db.outbox, db.audit_records, db.idempotency) == (tables, outbox, audit_records, idempotency)


async def test_a_request_with_a_reply_needs_a_valid_request_id(bus, db):
    with pytest.raises(InvalidArgument) as err:
        await bus.handle(register(), reply=OCCUPATION)
    assert [v.field for v in err.value.violations] == ["request_id"]
    for bad in ("x" * 129, "请求-1", "req\n1"):
        with pytest.raises(InvalidArgument) as err:
            await bus.handle(register(actor=ADMIN.for_request(bad)))
        assert [v.field for v in err.value.violations] == ["request_id"]
    assert db.tables["occupations"] == {} and db.idempotency == {}


async def test_a_failed_request_stores_no_answer_so_a_retry_runs_again(bus, db):
    with pytest.raises(InvalidArgument):
        await bus.handle(issue("req-1"), reply=VOUCHER)  # the occupation is not in the catalogue yet
    assert db.idempotency == {}
    await bus.handle(register(actor=ADMIN.for_request("occ-1")), reply=OCCUPATION)
    voucher = await bus.handle(issue("req-1"), reply=VOUCHER)
    assert voucher.state == VOUCHER.build(db.tables["vouchers"][voucher.voucher_id]).state


# -- the nested unit of work ---------------------------------------------------------------------
async def test_a_handler_failing_inside_an_outer_unit_of_work_dooms_all_of_it(bus, uows, db):
    # Inner levels share the outer transaction: a failed one cannot be undone alone, so the outer
    # refuses to commit and nothing at all is stored (a consumer then applies events one by one).
    outer = uows()
    async with outer:
        await bus.handle(register(), uow=outer)
        with pytest.raises(AlreadyExists):
            await bus.handle(register(standard=1), uow=outer)
        with pytest.raises(RuntimeError, match="cannot commit"):
            await outer.commit()
    assert db.tables["occupations"] == {} and db.audit_records == [] and db.commits == 0


async def test_a_handler_that_wrote_before_it_failed_leaves_nothing_behind(uows, db, clock):
    async def add_then_fail(cmd, uow):
        async with uow:
            await uow.occupations.add(Occupation.register("9-99", "probe", 5, 1, False, clock.now()))
            raise FailedPrecondition("changed its mind")

    bus = MessageBus(uows, {commands.RegisterOccupation: add_then_fail}, PERMISSIONS)
    real = bootstrap(uows, VAULT, FakeFundDirectory({"esf-2025"}), clock=clock)
    outer = uows()
    async with outer:
        await real.handle(register(), uow=outer)
        with pytest.raises(FailedPrecondition):
            await bus.handle(register(code="9-99"), uow=outer)
        with pytest.raises(RuntimeError):
            await outer.commit()
    assert db.tables["occupations"] == {} and db.audit_records == []


async def test_a_handler_that_looked_and_left_without_committing_does_not_doom_the_outer(bus, uows, db, clock):
    async def look(cmd, uow):
        async with uow:
            await uow.occupations.get(CODE, LEVEL)  # reads, changes nothing, does not commit

    looker = MessageBus(uows, {commands.RegisterOccupation: look}, PERMISSIONS)
    outer = uows()
    async with outer:
        await bus.handle(register(), uow=outer)
        await looker.handle(register(), uow=outer)
        await outer.commit()
    assert list(db.tables["occupations"]) == [(CODE, LEVEL)] and db.commits == 1


async def test_an_inner_commit_is_undone_when_the_outer_unit_of_work_rolls_back(bus, uows, db):
    await bus.handle(register(code="1-01"))
    before = db.snapshot()
    outer = uows()
    async with outer:
        occupation = await bus.handle(register(), uow=outer)  # the handler commits: a savepoint only
        assert (CODE, LEVEL) in db.tables["occupations"]
        assert occupation.code == CODE
    assert (db.tables, db.outbox, db.audit_records, db.idempotency) == before
    assert db.rollbacks >= 1 and outer.committed is False


async def test_an_exception_in_the_outer_unit_of_work_rolls_back_the_committed_inner_work(bus, uows, db):
    with pytest.raises(RuntimeError):
        async with uows() as outer:
            await bus.handle(register(), uow=outer)
            raise RuntimeError("the consumer's batch failed later")
    assert db.tables["occupations"] == {} and db.audit_records == []


# -- audit records -------------------------------------------------------------------------------
@pytest.mark.policy("C8")
async def test_one_audit_record_per_state_change_naming_actor_command_and_request(bus, db, clock):
    await bus.handle(register(actor=ADMIN.for_request("occ-1")))
    ins = await bus.handle(commands.RegisterInstitution(actor=ADMIN.for_request("ins-1"), name="学校",
                                                        credit_code=credit_code(random.Random(3)), address="x",
                                                        occupation_codes=(CODE,)))
    voucher = await bus.handle(issue("vch-1"))
    clock.advance(timedelta(minutes=5))
    institution = Actor(ActorKind.INSTITUTION, ins.institution_id, "enrol-1")
    enrol = commands.EnrolVoucher(actor=institution, voucher_id=voucher.voucher_id, institution_id=ins.institution_id,
                                  real_person_verified=True, presentation_token=await presented(bus, voucher))
    await bus.handle(enrol, reply=VOUCHER)
    records = db.audit_for(voucher.voucher_id)
    assert [(r.actor_kind, r.actor_subject, r.request_id, r.command, r.state_before, r.state_after, r.occurred_at)
            for r in records] == [
        ("admin", "admin-1", "vch-1", "IssueVoucher", "", "issued", NOW),
        ("institution", ins.institution_id, "enrol-1", "EnrolVoucher", "issued", "enrolled",
         NOW + timedelta(minutes=5)),
    ]
    # occupation, institution, voucher, its holder (a person first seen), the enrolment
    assert [r.record_id for r in db.audit_records] == [1, 2, 3, 4, 5]
    # the same request again (its token already used) is answered as before, and changes nothing: no record
    await bus.handle(enrol, reply=VOUCHER)
    assert len(db.audit_for(voucher.voucher_id)) == 2


@pytest.mark.policy("C8")
async def test_a_read_writes_no_audit_record(bus, uows, db):
    await bus.handle(register())
    records = list(db.audit_records)
    uow = uows()
    async with uow:
        with uow.acting(ADMIN.for_request("read-1"), "ListOccupations"):
            assert await uow.occupations.get(CODE, LEVEL) is not None
            await uow.occupations.list(None, 10, NOW.date(), OccupationFilter())
            await uow.commit()
    assert db.audit_records == records


async def test_a_change_outside_any_command_is_refused_rather_than_left_unaudited(uows, db, clock):
    uow = uows()
    async with uow:
        await uow.occupations.add(Occupation.register(CODE, "电工", LEVEL, 1, False, clock.now()))
        with pytest.raises(RuntimeError, match="outside a command"):
            await uow.commit()
    assert db.tables["occupations"] == {}


# -- domain event dispatch -----------------------------------------------------------------------
async def test_committed_domain_events_go_to_the_services_own_event_handlers(uows, db, clock):
    seen = []

    async def on_redeemed(event: VoucherRedeemed, uow):
        async with uow:
            voucher = await uow.vouchers.get(event.voucher_id)
            seen.append((event.voucher_id, event.value_fen, voucher.state))  # the redemption is committed
            voucher.mark_paid("po_probe", NOW)
            await uow.vouchers.save(voucher)
            await uow.commit()

    dependencies = {"clock": clock, "vault": VAULT, "funds": FakeFundDirectory({"esf-2025"}),
                    "presentations": SignedPresentationTokens(Ed25519PrivateKey.generate())}
    bus = MessageBus(uows, {c: inject(h, dependencies) for c, h in HANDLERS.items()}, PERMISSIONS,
                     event_handlers={VoucherRedeemed: [on_redeemed]}, service_actor=service_actor("voucher"))
    voucher_id, certificate_id = await _enrolled_voucher_and_certificate(bus)
    assert seen == []
    await bus.handle(commands.RedeemVoucher(actor=ADMIN.for_request("redeem-1"), voucher_id=voucher_id,
                                            certificate_id=certificate_id))
    assert seen == [(voucher_id, 120_000, VoucherState.REDEEMED)]  # A3: a skill-level certificate, no employment
    assert db.tables["vouchers"][voucher_id].state is VoucherState.PAID
    last = db.audit_for(voucher_id)[-1]
    assert (last.actor_kind, last.actor_subject, last.command, last.state_after) == (
        "service", "voucher", "VoucherRedeemed", "paid")


async def test_a_handler_joining_an_open_unit_of_work_leaves_dispatch_to_the_caller_after_commit(uows, db, clock):
    seen = []

    async def on_redeemed(event, uow):
        seen.append(event.voucher_id)

    dependencies = {"clock": clock, "vault": VAULT, "funds": FakeFundDirectory({"esf-2025"}),
                    "presentations": SignedPresentationTokens(Ed25519PrivateKey.generate())}
    bus = MessageBus(uows, {c: inject(h, dependencies) for c, h in HANDLERS.items()}, PERMISSIONS,
                     event_handlers={VoucherRedeemed: [on_redeemed]}, service_actor=service_actor("voucher"))
    voucher_id, certificate_id = await _enrolled_voucher_and_certificate(bus)
    outer = uows()
    async with outer:
        await bus.handle(commands.RedeemVoucher(actor=ADMIN, voucher_id=voucher_id, certificate_id=certificate_id),
                         uow=outer)
        assert seen == []
        await outer.commit()
    assert seen == []
    await bus.dispatch(outer.collect_new_events())
    assert seen == [voucher_id]
    assert [e.event_type for e in db.outbox] == ["voucher.issued", "voucher.enrolled", "voucher.redeemed"]


async def _enrolled_voucher_and_certificate(bus) -> tuple[str, str]:
    await bus.handle(register())
    ins = await bus.handle(commands.RegisterInstitution(actor=ADMIN, name="学校",
                                                        credit_code=credit_code(random.Random(3)), address="x",
                                                        occupation_codes=(CODE,)))
    voucher = await bus.handle(issue("vch-1"))
    await bus.handle(commands.EnrolVoucher(actor=ADMIN, voucher_id=voucher.voucher_id,
                                           institution_id=ins.institution_id, real_person_verified=True,
                                           presentation_token=await presented(bus, voucher)))
    cert = await bus.handle(commands.RecordCertificate(
        actor=ADMIN, resident_id=RID, name="张三", certificate_number=skill_level_certificate_number(LEVEL, NOW.date(), 1),
        certificate_type=CertificateType.SKILL_LEVEL, occupation_code=CODE, level=LEVEL, issued_on=NOW.date()))
    return voucher.voucher_id, cert.certificate_id
