"""Service-layer tests of issuance batches on the in-memory unit of work (tests/fakes.py), through the bus."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from skillpay.actors import Actor, ActorKind
from skillpay.cli.sample_data import resident_id
from skillpay.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PreconditionViolation,
)
from skillpay.messagebus import Reply
from skillpay.pii import person_subject
from tests.unit.test_voucher_handlers import (  # noqa: F401 - fixtures
    ADMIN,
    CODE,
    LEVEL,
    NOW,
    OTHER_CODE,
    VALID_UNTIL,
    VAULT,
    bus,
    certificate,
    clock,
    db,
    enrol,
    funds,
    institution,
    issue,
    nothing_stored,
    occupation,
    present,
    redeem,
    uows,
    violated_fields,
)
from voucher_svc.domain.batch import BatchMode
from voucher_svc.domain.model import VoucherKind, VoucherState
from voucher_svc.service_layer import commands

pytestmark = pytest.mark.unit

LOOKUP_KEY = bytes(range(32))  # VAULT's look-up key


def rids(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    found: list[str] = []
    while len(found) < n:
        rid = resident_id(rng)
        if rid not in found:
            found.append(rid)
    return found


async def create(bus, batch_id="b-2025", kind=VoucherKind.GENERAL, mode=BatchMode.LISTED, quota=0, fund="esf-2025",
                 occupation_code="", level=0, institution_id="", valid_from=None, actor=ADMIN):
    return await bus.handle(commands.CreateBatch(
        actor=actor, batch_id=batch_id, fund_source=fund, valid_from=valid_from, valid_until=VALID_UNTIL, kind=kind,
        occupation_code=occupation_code, level=level, institution_id=institution_id, mode=mode, quota=quota))


def chunk(batch_id: str, chunk_no: int, persons, first_row: int = 0, request_id: str | None = None):
    return commands.IssueBatchChunk(actor=ADMIN.for_request(request_id or f"ibc-{batch_id}-{chunk_no}"),
                                    batch_id=batch_id, chunk_no=chunk_no, first_row=first_row,
                                    persons=tuple(persons))


# The stored answer of a chunk, as the servicer's Reply does (any encoding will do here).
PROGRESS = Reply(build=lambda p: p, encode=lambda p: repr((p.issued_in_chunk, p.rejected_in_chunk, p.issued_total,
                                                           p.rejected_total, [(r.row, r.field) for r in p.rejections]
                                                           )).encode(),
                 parse=lambda raw: ("stored", raw))


def person_actor(rid: str) -> Actor:
    return Actor(ActorKind.PERSON, person_subject(rid, LOOKUP_KEY))


async def claim(bus, batch_id, rid, name="张三", actor=None, request_id=None):
    actor = (actor or person_actor(rid)).for_request(request_id or f"claim-{rid}")
    return await bus.handle(commands.ClaimVoucher(actor=actor, batch_id=batch_id, resident_id=rid, name=name))


# -- creating a batch ------------------------------------------------------------------------------
@pytest.mark.policy("V4", "V5")
async def test_create_batch_stores_it_and_audits_its_creation(bus, db):
    batch = await create(bus, valid_from=NOW + timedelta(days=1))
    stored = db.tables["batches"]["b-2025"]
    assert (stored.fund_source, stored.valid_from, stored.valid_until, stored.kind, stored.mode) == (
        "esf-2025", NOW + timedelta(days=1), VALID_UNTIL, VoucherKind.GENERAL, BatchMode.LISTED)
    assert [(r.command, r.aggregate_type, r.state_after) for r in db.audit_for(batch.batch_id)] == [
        ("CreateBatch", "batch", "recorded")]


@pytest.mark.policy("V4", "F1")
async def test_a_batch_from_a_fund_the_ledger_does_not_know_is_refused_and_nothing_stored(bus, db, funds):
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await create(bus, fund="unknown-fund")
    assert violated_fields(err) == {"fund_source"}
    assert funds.asked == ["unknown-fund"]


async def test_bad_batch_input_is_refused_before_the_ledger_is_asked(bus, db, funds):
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.CreateBatch(actor=ADMIN, batch_id="", fund_source="", valid_from=None,
                                              valid_until=None, kind=None, mode=None))
    assert violated_fields(err) == {"batch_id", "fund_source", "valid_until", "kind", "mode"}
    assert funds.asked == []


@pytest.mark.policy("A1", "P1")
async def test_a_targeted_batch_names_a_catalogue_occupation_and_institution(bus, db):
    await occupation(bus)
    school = await institution(bus)
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await create(bus, kind=VoucherKind.TARGETED, occupation_code=OTHER_CODE, level=LEVEL,
                     institution_id=school.institution_id)
    assert violated_fields(err) == {"occupation_code"}
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await create(bus, kind=VoucherKind.TARGETED, occupation_code=CODE, level=LEVEL, institution_id="ins_nobody")
    assert violated_fields(err) == {"institution_id"}
    batch = await create(bus, kind=VoucherKind.TARGETED, occupation_code=CODE, level=LEVEL,
                         institution_id=school.institution_id)
    assert (batch.occupation_code, batch.level, batch.institution_id) == (CODE, LEVEL, school.institution_id)


async def test_a_batch_id_is_unique_and_creating_is_for_admins(bus, db):
    await create(bus)
    with nothing_stored(db), pytest.raises(AlreadyExists):
        await create(bus, mode=BatchMode.QUOTA, quota=5)
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await create(bus, batch_id="other", actor=Actor(ActorKind.INSTITUTION, "ins_1"))


# -- listed issuance -------------------------------------------------------------------------------
@pytest.mark.policy("V1", "V4")
async def test_a_chunk_issues_valid_persons_and_names_each_bad_row_and_field(bus, db):
    await create(bus)
    good = rids(4)
    bad_check_digit = good[0][:-1] + ("0" if good[0][-1] != "0" else "1")
    persons = [(good[0], "张三"), (bad_check_digit, "李四"), (good[1], ""), (good[2], "王五"), (good[0], "张三"),
               (good[3], "赵六")]
    progress = await bus.handle(chunk("b-2025", 0, persons, first_row=100))
    assert (progress.issued_in_chunk, progress.rejected_in_chunk, progress.issued_total, progress.rejected_total) == (
        3, 3, 3, 3)
    assert [(r.row, r.field) for r in progress.rejections] == [(101, "resident_id"), (102, "name"),
                                                               (104, "resident_id")]
    for r in progress.rejections:  # the value sent is never repeated
        assert not any(rid in r.description for rid in (*good, bad_check_digit))
    vouchers = db.tables["vouchers"]
    assert len(vouchers) == 3
    assert {v.holder.id_lookup for v in vouchers.values()} == {VAULT.lookup_hash(r) for r in (good[0], good[2],
                                                                                               good[3])}
    assert all(v.kind is VoucherKind.GENERAL and v.occupation_code is None and v.fund_source == "esf-2025"
               for v in vouchers.values())
    # One audit record per voucher, one event for the whole chunk.
    assert sorted(r.aggregate_id for r in db.audit_records if r.aggregate_type == "voucher") == sorted(vouchers)
    [event] = db.events_of_type("voucher.batch_issued")
    assert event.aggregate_id == "b-2025" and event.payload.issued_count == 3 and event.payload.chunk_no == 0
    assert db.tables["batches"]["b-2025"].issued_count == 3


@pytest.mark.policy("V1")
async def test_a_chunk_records_its_persons_once_and_a_later_chunk_refreshes_a_changed_name(bus, db):
    await create(bus)
    await create(bus, batch_id="b-2026")
    a, b = rids(2)
    await occupation(bus)
    known = await issue(bus, rid=a)  # a is known already, from a single voucher
    await bus.handle(chunk("b-2025", 0, [(a, "张三"), (b, "李四"), ("123", "王五")]))
    persons = db.tables["persons"]
    assert {k: p.name for k, p in persons.items()} == {VAULT.lookup_hash(a): "张三", VAULT.lookup_hash(b): "李四"}
    assert persons[VAULT.lookup_hash(b)].id_masked == b[:6] + "*" * 8 + b[-4:]
    assert VAULT.unseal(persons[VAULT.lookup_hash(b)].id_sealed) == b
    # Each person audited once, when first seen (a by IssueVoucher, b by the chunk).
    assert sorted((r.command, r.aggregate_id) for r in db.audit_records if r.aggregate_type == "person") == sorted(
        [("IssueVoucher", known.holder.id_lookup), ("IssueBatchChunk", VAULT.lookup_hash(b))])
    await bus.handle(chunk("b-2026", 0, [(a, "张三"), (b, "李小四")]))
    assert (persons[VAULT.lookup_hash(a)].name, persons[VAULT.lookup_hash(b)].name) == ("张三", "李小四")
    assert len([r for r in db.audit_records if r.aggregate_type == "person"]) == 2


@pytest.mark.policy("V4")
async def test_a_chunk_sent_again_gets_its_first_answer_and_issues_nothing_twice(bus, db):
    await create(bus)
    persons = [(r, "张三") for r in rids(5)]
    first = await bus.handle(chunk("b-2025", 0, persons), reply=PROGRESS)
    before = db.snapshot()
    again = await bus.handle(chunk("b-2025", 0, persons), reply=PROGRESS)
    assert again == ("stored", PROGRESS.encode(first))
    assert (db.tables, db.outbox, db.audit_records) == before[:3]
    with pytest.raises(AlreadyExists):  # the same chunk id with other persons
        await bus.handle(chunk("b-2025", 0, persons[:2]), reply=PROGRESS)


@pytest.mark.policy("V1", "V4")
async def test_a_person_of_an_earlier_chunk_is_refused_in_a_later_one(bus, db):
    await create(bus)
    people = rids(3)
    await bus.handle(chunk("b-2025", 0, [(people[0], "张三"), (people[1], "李四")]))
    progress = await bus.handle(chunk("b-2025", 1, [(people[1], "李四"), (people[2], "王五")], first_row=2))
    assert (progress.issued_in_chunk, progress.issued_total, progress.rejected_total) == (1, 3, 1)
    assert [(r.row, r.field) for r in progress.rejections] == [(2, "resident_id")]
    assert len(db.tables["vouchers"]) == 3


async def test_a_chunk_for_an_unknown_batch_or_of_bad_shape_is_refused_whole(bus, db):
    await create(bus)
    with nothing_stored(db), pytest.raises(NotFound):
        await bus.handle(chunk("nope", 0, [(rids(1)[0], "张三")]))
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.IssueBatchChunk(actor=ADMIN.for_request("x"), batch_id="b-2025", chunk_no=-1,
                                                  first_row=-5, persons=()))
    assert violated_fields(err) == {"chunk_no", "first_row", "persons"}
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(chunk("b-2025", 0, [(rids(1)[0], "张三")] * 5001))
    assert violated_fields(err) == {"persons"}


async def test_a_quota_batch_takes_no_list(bus, db):
    await create(bus, mode=BatchMode.QUOTA, quota=5)
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="ClaimVoucher"):
        await bus.handle(chunk("b-2025", 0, [(rids(1)[0], "张三")]))


# -- quota claims ----------------------------------------------------------------------------------
@pytest.mark.policy("V1", "V4")
async def test_a_person_claims_one_voucher_and_claiming_again_returns_it(bus, db):
    await create(bus, mode=BatchMode.QUOTA, quota=2)
    rid = rids(1)[0]
    first = await claim(bus, "b-2025", rid)
    again = await claim(bus, "b-2025", rid, request_id="another-request")
    assert again.voucher_id == first.voucher_id and again.holder == first.holder
    assert db.tables["batches"]["b-2025"].issued_count == 1
    assert list(db.tables["vouchers"]) == [first.voucher_id]
    assert [p.name for p in db.tables["persons"].values()] == ["张三"]  # V1: the claimant is known from now on


@pytest.mark.policy("V4")
async def test_claims_beyond_the_quota_are_refused(bus, db):
    await create(bus, mode=BatchMode.QUOTA, quota=2)
    a, b, c = rids(3)
    await claim(bus, "b-2025", a)
    await claim(bus, "b-2025", b)
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="quota"):
        await claim(bus, "b-2025", c)
    assert (await claim(bus, "b-2025", a, request_id="later")).holder.id_lookup == VAULT.lookup_hash(a)


@pytest.mark.policy("V2")
async def test_a_person_claims_only_for_themselves(bus, db):
    await create(bus, mode=BatchMode.QUOTA, quota=2)
    mine, theirs = rids(2)
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await claim(bus, "b-2025", theirs, actor=person_actor(mine))
    with nothing_stored(db), pytest.raises(PermissionDenied):  # staff do not claim for persons
        await claim(bus, "b-2025", mine, actor=ADMIN)
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await claim(bus, "b-2025", "123", actor=person_actor(mine))
    assert violated_fields(err) == {"resident_id"}
    await create(bus, batch_id="listed")
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="no quota"):
        await claim(bus, "listed", mine)


# -- general and targeted vouchers at enrolment ----------------------------------------------------
async def _issued(bus, db, batch_id, rid) -> str:
    await bus.handle(chunk(batch_id, 0, [(rid, "张三")], request_id=f"ibc-{batch_id}-{rid}"))
    return next(v.voucher_id for v in db.tables["vouchers"].values()
                if v.batch_id == batch_id and v.holder.id_lookup == VAULT.lookup_hash(rid))


async def _token(bus, voucher_id, rid) -> str:
    """V2: the holder's app presents the voucher (a fresh single-use token)."""
    return await present(bus, voucher_id, holder=person_actor(rid))


@pytest.mark.policy("V4", "A1", "P1", "V2")
async def test_a_general_voucher_is_enrolled_for_the_occupation_the_holder_chooses(bus, db):
    await occupation(bus)
    await occupation(bus, code=OTHER_CODE)
    school = await institution(bus, codes=(CODE,))
    await create(bus)
    rid = rids(1)[0]
    voucher_id = await _issued(bus, db, "b-2025", rid)
    cmd = dict(actor=Actor(ActorKind.INSTITUTION, school.institution_id), voucher_id=voucher_id,
               institution_id=school.institution_id, real_person_verified=True)
    # V2: a general voucher, too, is enrolled only with its holder's presentation token.
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.EnrolVoucher(**cmd, presentation_token="", occupation_code=CODE, level=LEVEL))
    assert violated_fields(err) == {"presentation_token"}
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:  # every bad field at once
        await bus.handle(commands.EnrolVoucher(**cmd, presentation_token="", occupation_code=CODE, level=9))
    assert violated_fields(err) == {"presentation_token", "level"}
    others = await issue(bus)  # another person's voucher, and its holder's token
    others_token = await present(bus, others.voucher_id)
    with nothing_stored(db), pytest.raises(PermissionDenied, match="another voucher"):
        await bus.handle(commands.EnrolVoucher(**cmd, presentation_token=others_token, occupation_code=CODE,
                                               level=LEVEL))
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.EnrolVoucher(**cmd, presentation_token=await _token(bus, voucher_id, rid)))
    assert violated_fields(err) == {"occupation_code"}
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.EnrolVoucher(**cmd, presentation_token=await _token(bus, voucher_id, rid),
                                               occupation_code=CODE, level=3))  # not in the catalogue
    assert violated_fields(err) == {"occupation_code"}
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="P1"):
        await bus.handle(commands.EnrolVoucher(**cmd, presentation_token=await _token(bus, voucher_id, rid),
                                               occupation_code=OTHER_CODE, level=LEVEL))
    enrolled = await bus.handle(commands.EnrolVoucher(**cmd, presentation_token=await _token(bus, voucher_id, rid),
                                                      occupation_code=CODE, level=LEVEL))
    assert (enrolled.state, enrolled.occupation_code, enrolled.level) == (VoucherState.ENROLLED, CODE, LEVEL)
    stored = db.tables["vouchers"][voucher_id]
    assert (stored.occupation_code, stored.level, stored.institution_id) == (CODE, LEVEL, school.institution_id)


@pytest.mark.policy("L2", "V4")
async def test_eligibility_at_enrolment_uses_the_occupation_chosen_then(bus, db, clock):
    await occupation(bus)
    await occupation(bus, code=OTHER_CODE)
    school = await institution(bus, codes=(CODE, OTHER_CODE))
    rid = rids(1)[0]
    # A subsidised electrician training at level 4, then L4's month passes.
    first = await issue(bus, rid=rid)
    await enrol(bus, first.voucher_id, school.institution_id, token=await _token(bus, first.voucher_id, rid))
    cert = await certificate(bus, rid=rid)
    await redeem(bus, first.voucher_id, cert.certificate_id, ADMIN)
    clock.advance(timedelta(days=40))
    await create(bus, batch_id="g")
    voucher_id = await _issued(bus, db, "g", rid)
    enrol_it = dict(actor=ADMIN, voucher_id=voucher_id, institution_id=school.institution_id,
                    real_person_verified=True)
    with nothing_stored(db), pytest.raises(FailedPrecondition) as err:
        await bus.handle(commands.EnrolVoucher(**enrol_it, presentation_token=await _token(bus, voucher_id, rid),
                                               occupation_code=CODE, level=LEVEL))
    assert [v.type for v in err.value.violations if isinstance(v, PreconditionViolation)] == ["L2"]
    enrolled = await bus.handle(commands.EnrolVoucher(**enrol_it, presentation_token=await _token(bus, voucher_id, rid),
                                                      occupation_code=OTHER_CODE, level=LEVEL))
    assert enrolled.occupation_code == OTHER_CODE


@pytest.mark.policy("V4")
async def test_a_targeted_voucher_is_enrolled_only_by_its_institution_for_its_occupation(bus, db):
    await occupation(bus)
    await occupation(bus, code=OTHER_CODE)
    bound = await institution(bus, codes=(CODE, OTHER_CODE), seed=1)
    other = await institution(bus, codes=(CODE,), seed=2)
    await create(bus, kind=VoucherKind.TARGETED, occupation_code=CODE, level=LEVEL,
                 institution_id=bound.institution_id)
    rid = rids(1)[0]
    voucher_id = await _issued(bus, db, "b-2025", rid)
    assert db.tables["vouchers"][voucher_id].bound_institution_id == bound.institution_id
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="another institution"):
        await enrol(bus, voucher_id, other.institution_id, token=await _token(bus, voucher_id, rid))
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="another occupation"):
        await bus.handle(commands.EnrolVoucher(actor=ADMIN, voucher_id=voucher_id,
                                               institution_id=bound.institution_id, real_person_verified=True,
                                               presentation_token=await _token(bus, voucher_id, rid),
                                               occupation_code=OTHER_CODE, level=LEVEL))
    enrolled = await enrol(bus, voucher_id, bound.institution_id, token=await _token(bus, voucher_id, rid))
    assert (enrolled.state, enrolled.occupation_code) == (VoucherState.ENROLLED, CODE)


async def test_the_single_issue_voucher_still_gives_a_targeted_voucher_without_an_institution(bus, db):
    await occupation(bus)
    voucher = await issue(bus)
    stored = db.tables["vouchers"][voucher.voucher_id]
    assert (stored.kind, stored.occupation_code, stored.bound_institution_id) == (VoucherKind.TARGETED, CODE, None)
