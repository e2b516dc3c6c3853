"""Issuance batches and general/targeted vouchers in the domain (V1, V4, V5): pure Python, no I/O."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from skillpay.cli.sample_data import resident_id
from skillpay.errors import FailedPrecondition, FieldViolation, InvalidArgument
from skillpay.pii import PiiVault, person_subject
from voucher_svc.domain.batch import (
    ALREADY_IN_BATCH,
    Batch,
    BatchChunkIssued,
    BatchMode,
    Candidate,
)
from voucher_svc.domain.model import (
    Institution,
    Occupation,
    PersonIdentity,
    VoucherKind,
    VoucherState,
)

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
UNTIL = NOW + timedelta(days=180)
VAULT = PiiVault(bytes(32), bytes(range(32)))
CODE, OTHER_CODE = "6-31-01-03", "4-10-01-01"
ELECTRICIAN = Occupation(CODE, "电工", 4, 150_000, False, NOW)
COOK = Occupation(OTHER_CODE, "中式烹调师", 4, 120_000, False, NOW)
SCHOOL = Institution.register("ins_1", "蓝天职业培训学校", "91350100M000100Y43", "北京", [CODE], NOW)
OTHER_SCHOOL = Institution.register("ins_2", "白云职业培训学校", "91350100M000100Y43", "北京", [CODE, OTHER_CODE], NOW)


def person(seed: int, name: str = "张三") -> PersonIdentity:
    rid = resident_id(random.Random(seed))
    return PersonIdentity(name, VAULT.lookup_hash(rid), VAULT.seal(rid), rid[:6] + "*" * 8 + rid[-4:])


def general(mode=BatchMode.LISTED, quota=0, valid_from=None, until=UNTIL) -> Batch:
    return Batch.create("2025-spring", "ESF", valid_from, until, VoucherKind.GENERAL, None, None, mode, quota, NOW)


def targeted(mode=BatchMode.LISTED, quota=0) -> Batch:
    return Batch.create("2025-elec", "ESF", None, UNTIL, VoucherKind.TARGETED, ELECTRICIAN, SCHOOL, mode, quota, NOW)


def fields_of(err: pytest.ExceptionInfo) -> set[str]:
    return {v.field for v in err.value.violations}


@pytest.mark.policy("V4", "V5")
def test_a_batch_names_its_fund_source_and_validity_window():
    batch = general(valid_from=NOW + timedelta(days=1))
    assert (batch.batch_id, batch.fund_source, batch.valid_from, batch.valid_until) == (
        "2025-spring", "ESF", NOW + timedelta(days=1), UNTIL)
    assert (batch.kind, batch.mode, batch.quota, batch.issued_count) == (VoucherKind.GENERAL, BatchMode.LISTED, 0, 0)
    assert general().valid_from == NOW  # unset: valid from its creation


@pytest.mark.policy("V4", "V5")
def test_bad_batch_fields_are_all_named_at_once():
    violations = Batch.field_violations("bad id!", "", NOW + timedelta(days=10), NOW + timedelta(days=5), None,
                                        "", 0, "", None, 0, NOW)
    assert {v.field for v in violations} == {"batch_id", "fund_source", "valid_until", "kind", "mode"}
    far = Batch.field_violations("b", "ESF", None, NOW + timedelta(days=366 * 11), VoucherKind.GENERAL, "", 0, "",
                                 BatchMode.LISTED, 0, NOW)
    assert [v.field for v in far] == ["valid_until"]
    assert [v.field for v in Batch.field_violations("b", "ESF", None, None, VoucherKind.GENERAL, "", 0, "",
                                                    BatchMode.LISTED, 0, NOW)] == ["valid_until"]


def test_a_targeted_batch_names_occupation_level_and_institution_and_a_general_one_none():
    missing = Batch.field_violations("b", "ESF", None, UNTIL, VoucherKind.TARGETED, "", 9, "", BatchMode.LISTED, 0, NOW)
    assert {v.field for v in missing} == {"occupation_code", "level", "institution_id"}
    extra = Batch.field_violations("b", "ESF", None, UNTIL, VoucherKind.GENERAL, CODE, 4, "ins_1", BatchMode.LISTED,
                                   0, NOW)
    assert {v.field for v in extra} == {"occupation_code", "level", "institution_id"}


def test_only_a_quota_batch_has_a_quota_and_it_is_bounded():
    for quota in (0, -1, 10_000_001, True):
        with pytest.raises(InvalidArgument) as err:
            general(BatchMode.QUOTA, quota)
        assert fields_of(err) == {"quota"}
    with pytest.raises(InvalidArgument) as err:
        general(BatchMode.LISTED, 5)
    assert fields_of(err) == {"quota"}
    assert general(BatchMode.QUOTA, 10_000_000).quota == 10_000_000


@pytest.mark.policy("P1", "X3")
def test_a_targeted_batch_needs_an_active_institution_approved_for_the_occupation():
    with pytest.raises(FailedPrecondition, match="P1"):
        Batch.create("b", "ESF", None, UNTIL, VoucherKind.TARGETED, COOK, SCHOOL, BatchMode.LISTED, 0, NOW)
    from voucher_svc.domain.model import InstitutionStatus
    removed = Institution(**{**SCHOOL.__dict__, "status": InstitutionStatus.REMOVED})
    with pytest.raises(FailedPrecondition, match="X3"):
        Batch.create("b", "ESF", None, UNTIL, VoucherKind.TARGETED, ELECTRICIAN, removed, BatchMode.LISTED, 0, NOW)


@pytest.mark.policy("V1", "V4")
def test_a_chunk_issues_every_valid_person_and_refuses_bad_and_repeated_rows_alone():
    batch = targeted()
    a, b = person(1), person(2)
    bad = Candidate(12, None, (FieldViolation("resident_id", "not a valid resident ID number (the check digit "
                                                             "is wrong)"), FieldViolation("name", "is required")))
    outcome = batch.issue_chunk(0, [Candidate(10, a), Candidate(11, b), bad, Candidate(13, a)], set(), NOW)
    assert [v.holder for v in outcome.vouchers] == [a, b]
    assert [(r.row, r.field) for r in outcome.rejections] == [(12, "resident_id"), (12, "name"), (13, "resident_id")]
    assert outcome.rejections[-1].description == ALREADY_IN_BATCH
    assert outcome.rejected_rows == 2
    assert (batch.issued_count, batch.rejected_count) == (2, 2)
    voucher = outcome.vouchers[0]
    assert (voucher.kind, voucher.occupation_code, voucher.level, voucher.bound_institution_id) == (
        VoucherKind.TARGETED, CODE, 4, "ins_1")
    assert (voucher.fund_source, voucher.batch_id, voucher.valid_until, voucher.state) == (
        "ESF", "2025-elec", UNTIL, VoucherState.ISSUED)
    [event] = batch.pull_events()
    assert isinstance(event, BatchChunkIssued) and (event.chunk_no, event.issued_count) == (0, 2)


@pytest.mark.policy("V1", "V4")
def test_voucher_ids_follow_from_batch_and_person_so_a_person_already_issued_is_refused():
    batch = general()
    a = person(1)
    again = general()
    assert batch.voucher_id_for(a) == again.voucher_id_for(a) != batch.voucher_id_for(person(2))
    other_batch = Batch.create("2025-autumn", "ESF", None, UNTIL, VoucherKind.GENERAL, None, None, BatchMode.LISTED,
                               0, NOW)
    assert other_batch.voucher_id_for(a) != batch.voucher_id_for(a)
    outcome = batch.issue_chunk(3, [Candidate(0, a), Candidate(1, person(2))], {batch.voucher_id_for(a)}, NOW)
    assert [r.row for r in outcome.rejections] == [0]
    assert len(outcome.vouchers) == 1 and outcome.vouchers[0].kind is VoucherKind.GENERAL
    assert outcome.vouchers[0].occupation_code is None and outcome.vouchers[0].level is None


def test_a_chunk_with_nothing_to_issue_records_no_event():
    batch = general()
    outcome = batch.issue_chunk(0, [Candidate(0, None, (FieldViolation("name", "is required"),))], set(), NOW)
    assert outcome.vouchers == [] and batch.pull_events() == []
    assert batch.rejected_count == 1


@pytest.mark.policy("V5")
def test_an_expired_batch_issues_nothing():
    batch = general()
    with pytest.raises(FailedPrecondition, match="V5"):
        batch.issue_chunk(0, [Candidate(0, person(1))], set(), UNTIL)
    quota = general(BatchMode.QUOTA, 3)
    with pytest.raises(FailedPrecondition, match="V5"):
        quota.claim(person(1), None, UNTIL + timedelta(seconds=1))
    assert batch.issued_count == quota.issued_count == 0


def test_listed_and_quota_batches_take_only_their_own_way_of_issuing():
    with pytest.raises(FailedPrecondition, match="ClaimVoucher"):
        general(BatchMode.QUOTA, 3).issue_chunk(0, [Candidate(0, person(1))], set(), NOW)
    with pytest.raises(FailedPrecondition, match="no quota"):
        general().claim(person(1), None, NOW)


@pytest.mark.policy("V4")
def test_claims_stop_at_the_quota_and_a_second_claim_gives_the_first_voucher():
    batch = general(BatchMode.QUOTA, 2)
    first = batch.claim(person(1), None, NOW)
    batch.claim(person(2), None, NOW)
    with pytest.raises(FailedPrecondition, match="quota of 2"):
        batch.claim(person(3), None, NOW)
    assert batch.claim(person(1), first, NOW) is first  # after the quota too
    assert batch.issued_count == 2
    assert first.voucher_id == batch.voucher_id_for(person(1))


@pytest.mark.policy("V4")
def test_a_general_voucher_is_enrolled_for_the_occupation_chosen_then():
    voucher = general().issue_chunk(0, [Candidate(0, person(1))], set(), NOW).vouchers[0]
    with pytest.raises(InvalidArgument) as err:
        voucher.enrol(OTHER_SCHOOL, True, NOW)
    assert fields_of(err) == {"occupation_code"}
    with pytest.raises(FailedPrecondition, match="P1"):
        voucher.enrol(SCHOOL, True, NOW, COOK)  # the school is not approved for cooks
    voucher.enrol(OTHER_SCHOOL, True, NOW, COOK)
    assert (voucher.state, voucher.occupation_code, voucher.level, voucher.institution_id) == (
        VoucherState.ENROLLED, OTHER_CODE, 4, "ins_2")
    voucher.enrol(OTHER_SCHOOL, True, NOW, COOK)  # the same again: nothing changes
    with pytest.raises(FailedPrecondition):
        voucher.enrol(OTHER_SCHOOL, True, NOW, ELECTRICIAN)  # enrolled already, for another occupation


@pytest.mark.policy("V4")
def test_a_targeted_voucher_keeps_its_occupation_and_institution():
    voucher = targeted().issue_chunk(0, [Candidate(0, person(1))], set(), NOW).vouchers[0]
    with pytest.raises(FailedPrecondition, match="another institution"):
        voucher.enrol(OTHER_SCHOOL, True, NOW)
    with pytest.raises(FailedPrecondition, match="another occupation"):
        voucher.enrol(SCHOOL, True, NOW, COOK)
    voucher.enrol(SCHOOL, True, NOW, ELECTRICIAN)
    assert (voucher.state, voucher.occupation_code, voucher.institution_id) == (VoucherState.ENROLLED, CODE, "ins_1")


@pytest.mark.policy("V5")
def test_a_voucher_is_enrolled_only_inside_its_batch_validity_window():
    batch = general(valid_from=NOW + timedelta(days=7))
    voucher = batch.issue_chunk(0, [Candidate(0, person(1))], set(), NOW).vouchers[0]
    with pytest.raises(FailedPrecondition, match="valid only from"):
        voucher.enrol(SCHOOL, True, NOW + timedelta(days=6), ELECTRICIAN)
    voucher.enrol(SCHOOL, True, NOW + timedelta(days=7), ELECTRICIAN)
    assert voucher.state is VoucherState.ENROLLED


@pytest.mark.policy("V1")
def test_a_person_subject_is_the_look_up_hash_of_the_canonical_resident_id():
    # Written with a small x, as people do; the canonical form (capital X) is what is hashed.
    assert person_subject("11010519491231002x", bytes(range(32))) == VAULT.lookup_hash("11010519491231002X")
    with pytest.raises(InvalidArgument):
        person_subject("123", bytes(range(32)))
