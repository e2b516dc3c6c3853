"""Unit tests of the catalogues' domain: dated occupation versions (A1) and institution status (P1, X3)."""

from __future__ import annotations

import copy
import random
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillpay.cli import sample_data
from skillpay.clock import shanghai_date
from skillpay.errors import FailedPrecondition, InvalidArgument
from skillpay.paging import bound_scope, decode_token, encode_token
from skillpay.pii import PiiVault, mask_resident_id
from voucher_svc.domain.catalogue_query import InstitutionFilter, OccupationFilter
from voucher_svc.domain.model import (
    EARLIEST_CERTIFICATE,
    BankAccount,
    Institution,
    InstitutionNature,
    InstitutionStatus,
    InstitutionStatusChanged,
    Occupation,
    PersonIdentity,
    Voucher,
    VoucherState,
    version_in_force,
)

pytestmark = pytest.mark.unit

# 18:30 UTC is already the next day in Shanghai: a test confusing the two dates fails every time.
NOW = datetime(2025, 6, 30, 18, 30, tzinfo=timezone.utc)
TODAY = shanghai_date(NOW)  # 2025-07-01
CODE = "6-31-01-03"
VAULT = PiiVault(bytes(range(32)), bytes(range(32, 64)))
ACCOUNT = ("6222020200112233445", "南阳职业培训学校", "102513000017")


def _fields(exc) -> set[str]:
    return {v.field for v in exc.violations}


def _occupation(effective_from: date | None = date(2024, 1, 1), standard: int = 150_000) -> Occupation:
    return Occupation.register(CODE, "电工", 4, standard, False, NOW, effective_from=effective_from)


def _revise(latest: Occupation, effective_from: date | None, standard: int = 200_000, **terms) -> Occupation:
    values = {"name": "电工", "subsidy_standard_fen": standard, "new_occupation": False, "min_class_hours": 0,
              "practical_oriented": False, "region": "", **terms}
    return latest.revise(values["name"], values["subsidy_standard_fen"], values["new_occupation"],
                         values["min_class_hours"], values["practical_oriented"], values["region"], effective_from,
                         NOW)


def _institution(**kwargs) -> Institution:
    return Institution.register("ins_1", "南阳职业培训学校", sample_data.credit_code(random.Random(3)), "南阳市卧龙区",
                                [CODE], NOW, **kwargs)


def _voucher() -> Voucher:
    rid = sample_data.resident_id(random.Random(1))
    holder = PersonIdentity("张三", VAULT.lookup_hash(rid), VAULT.seal(rid), mask_resident_id(rid))
    return Voucher.issue("vch_1", holder, _occupation(), "ESF", "b1", NOW + timedelta(days=90), NOW)


# ------------------------------------------------------------------------------ occupation versions
@pytest.mark.policy("A1")
def test_A1_the_first_version_starts_today_in_shanghai_unless_told_and_has_no_end():
    first = Occupation.register(CODE, " 电工 ", 4, 150_000, True, NOW, min_class_hours=80, practical_oriented=True,
                                region="411300")
    assert (first.effective_from, first.effective_to, first.version) == (TODAY, None, 1)
    assert (first.name, first.min_class_hours, first.practical_oriented, first.region) == ("电工", 80, True, "411300")
    assert _occupation(date(2020, 5, 1)).effective_from == date(2020, 5, 1)


@pytest.mark.policy("A1")
def test_A1_register_names_every_bad_field():
    with pytest.raises(InvalidArgument) as err:
        Occupation.register("bad code!", " ", 0, 0, False, NOW, min_class_hours=-1, region="4113",
                            effective_from=date(1989, 12, 31))
    assert _fields(err.value) == {"code", "name", "level", "subsidy_standard_fen", "min_class_hours", "region",
                                  "effective_from"}
    with pytest.raises(InvalidArgument) as err:  # published at most five years ahead
        _occupation(TODAY + timedelta(days=366 * 5 + 1))
    assert _fields(err.value) == {"effective_from"}
    with pytest.raises(InvalidArgument) as err:
        Occupation.register(CODE, "电工", 4, 1, False, NOW, min_class_hours=5_001, region="0123456")
    assert _fields(err.value) == {"min_class_hours", "region"}


@pytest.mark.policy("A1")
def test_A1_a_revision_ends_the_latest_version_the_day_before_it_starts():
    first = _occupation(date(2024, 1, 1))
    second = _revise(first, date(2025, 1, 1), standard=180_000, min_class_hours=40, region="411300")
    assert first.effective_to == date(2024, 12, 31)
    assert (second.version, second.effective_from, second.effective_to) == (2, date(2025, 1, 1), None)
    assert (second.code, second.level, second.subsidy_standard_fen, second.region) == (CODE, 4, 180_000, "411300")
    assert second.created_at == NOW
    # the trail of the catalogue entry: one aggregate id, each version's dates in its state
    assert first.audit_id() == second.audit_id() == f"{CODE}|4"
    assert (first.audit_state(), second.audit_state()) == ("v1 2024-01-01..2024-12-31", "v2 2025-01-01..")


@pytest.mark.policy("A1")
@pytest.mark.parametrize("start", [date(2024, 1, 1), date(2023, 12, 31)])
def test_A1_a_revision_must_start_strictly_after_the_latest_version_and_changes_nothing_otherwise(start):
    first = _occupation(date(2024, 1, 1))
    before = copy.deepcopy(first)
    with pytest.raises(FailedPrecondition) as err:
        _revise(first, start)
    assert [v.type for v in err.value.violations] == ["A1"]
    assert first == before


@pytest.mark.policy("A1")
def test_A1_a_revision_names_every_bad_field_and_only_the_latest_version_can_be_revised():
    first = _occupation()
    with pytest.raises(InvalidArgument) as err:
        _revise(first, None, standard=0, name="", min_class_hours=True, region="x")
    assert _fields(err.value) == {"name", "subsidy_standard_fen", "min_class_hours", "region", "effective_from"}
    assert first.effective_to is None
    _revise(first, date(2025, 1, 1))
    with pytest.raises(ValueError):
        _revise(first, date(2026, 1, 1))


@pytest.mark.policy("A1")
def test_A1_in_force_from_the_first_through_the_last_day_both_inclusive():
    first = _occupation(date(2024, 1, 1))
    second = _revise(first, date(2025, 1, 1))
    versions = [first, second]
    assert version_in_force(versions, date(2023, 12, 31)) is None
    assert version_in_force(versions, date(2024, 1, 1)) is first
    assert version_in_force(versions, date(2024, 12, 31)) is first
    assert version_in_force(versions, date(2025, 1, 1)) is second
    assert version_in_force(versions, date(9999, 12, 31)) is second


@pytest.mark.policy("A1")
@given(gaps=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=8),
       probe=st.integers(min_value=-10, max_value=4_000))
def test_A1_versions_never_overlap_and_leave_no_gap(gaps, probe):
    start = date(2000, 1, 1)
    versions = [_occupation(start)]
    for gap in gaps:
        versions.append(_revise(versions[-1], versions[-1].effective_from + timedelta(days=gap)))
    day = start + timedelta(days=probe)
    in_force = [v for v in versions if v.in_force_on(day)]
    assert len(in_force) == (0 if day < start else 1)
    for earlier, later in zip(versions, versions[1:], strict=False):
        assert earlier.effective_to == later.effective_from - timedelta(days=1)
    assert [v.version for v in versions] == list(range(1, len(versions) + 1))


# ------------------------------------------------------------------------------ institutions
@pytest.mark.policy("P1")
def test_P1_an_institution_registers_with_nature_region_and_an_optional_bank_account():
    plain = _institution()
    assert (plain.nature, plain.region, plain.bank_account) == (InstitutionNature.OTHER, "", None)
    full = _institution(nature=InstitutionNature.PRIVATE, region="411302", bank_account=ACCOUNT)
    assert full.nature is InstitutionNature.PRIVATE and full.region == "411302"
    assert full.bank_account == BankAccount(*ACCOUNT)


@pytest.mark.policy("P1")
def test_P1_a_bank_account_given_at_registration_is_checked_naming_each_part():
    with pytest.raises(InvalidArgument) as err:
        _institution(region="41130", bank_account=("6222-0202", "", "1025"))
    assert _fields(err.value) == {"region", "bank_account.account_number", "bank_account.account_name",
                                  "bank_account.bank_code"}


@pytest.mark.policy("X3")
def test_X3_suspend_reinstate_remove_each_recorded_with_reason_and_time_and_announced():
    ins = _institution()
    ins.suspend(" 虚假培训调查中 ", NOW)
    assert (ins.status, ins.status_reason, ins.status_changed_at) == (InstitutionStatus.SUSPENDED, "虚假培训调查中",
                                                                      NOW)
    later = NOW + timedelta(days=3)
    ins.reinstate(later)
    assert (ins.status, ins.status_reason, ins.status_changed_at) == (InstitutionStatus.ACTIVE, "", later)
    ins.remove("骗取补贴", later)
    assert ins.status is InstitutionStatus.REMOVED
    assert ins.pull_events() == [
        InstitutionStatusChanged("ins_1", InstitutionStatus.SUSPENDED, InstitutionStatus.ACTIVE, "虚假培训调查中", NOW),
        InstitutionStatusChanged("ins_1", InstitutionStatus.ACTIVE, InstitutionStatus.SUSPENDED, "", later),
        InstitutionStatusChanged("ins_1", InstitutionStatus.REMOVED, InstitutionStatus.ACTIVE, "骗取补贴", later),
    ]


@pytest.mark.policy("X3")
def test_X3_a_suspended_institution_can_be_removed_directly():
    ins = _institution()
    ins.suspend("调查", NOW)
    ins.remove("查实", NOW)
    assert ins.status is InstitutionStatus.REMOVED and ins.status_reason == "查实"


@pytest.mark.policy("X3")
def test_X3_removed_is_final_and_nothing_changes_a_removed_institution():
    ins = _institution()
    ins.remove("骗取补贴", NOW)
    ins.pull_events()
    before = copy.deepcopy(ins)
    for attempt in (lambda: ins.suspend("again", NOW), lambda: ins.reinstate(NOW), lambda: ins.remove("again", NOW),
                    lambda: ins.update_bank_account(*ACCOUNT)):
        with pytest.raises(FailedPrecondition) as err:
            attempt()
        assert [v.type for v in err.value.violations] == ["X3"]
    assert ins == before and ins.pending_events == []


@pytest.mark.policy("X3")
def test_X3_transitions_that_make_no_sense_are_refused():
    ins = _institution()
    with pytest.raises(FailedPrecondition):
        ins.reinstate(NOW)  # it is active
    ins.suspend("调查", NOW)
    with pytest.raises(FailedPrecondition):
        ins.suspend("调查", NOW)  # already
    assert [e.status for e in ins.pull_events()] == [InstitutionStatus.SUSPENDED]


@pytest.mark.policy("X3")
@pytest.mark.parametrize("reason", ["", "  ", "x" * 201, "bad\u202ereason"])
def test_X3_a_suspension_or_removal_needs_a_bounded_plain_reason(reason):
    ins = _institution()
    for change in (ins.suspend, ins.remove):
        with pytest.raises(InvalidArgument) as err:
            change(reason, NOW)
        assert _fields(err.value) == {"reason"}
    assert ins.status is InstitutionStatus.ACTIVE and ins.pending_events == []


def test_a_new_bank_account_changes_the_audit_state_but_the_same_one_does_not():
    ins = _institution()
    assert ins.audit_state() == "active"
    assert ins.update_bank_account(*ACCOUNT) is True
    with_account = ins.audit_state()
    assert with_account.startswith("active acct:") and len(with_account) <= 32
    assert ACCOUNT[0] not in with_account
    assert ins.update_bank_account(*ACCOUNT) is False
    assert ins.update_bank_account(ACCOUNT[0], ACCOUNT[1], "103100000026") is True
    assert ins.audit_state() != with_account
    ins.suspend("调查", NOW)
    assert len(ins.audit_state()) <= 32  # the audit columns hold 32 characters
    with pytest.raises(InvalidArgument) as err:
        ins.update_bank_account("12", "", "x")
    assert _fields(err.value) == {"bank_account.account_number", "bank_account.account_name",
                                  "bank_account.bank_code"}


@pytest.mark.policy("X3")
@pytest.mark.parametrize("status", [InstitutionStatus.SUSPENDED, InstitutionStatus.REMOVED])
def test_X3_no_enrolment_at_a_suspended_or_removed_institution(status):
    ins = _institution()
    (ins.suspend if status is InstitutionStatus.SUSPENDED else ins.remove)("调查", NOW)
    voucher = _voucher()
    with pytest.raises(FailedPrecondition) as err:
        voucher.enrol(ins, True, NOW)
    assert [(v.type, v.subject) for v in err.value.violations] == [("X3", "institution")]
    assert voucher.state is VoucherState.ISSUED and voucher.institution_id is None
    with pytest.raises(FailedPrecondition, match="X3"):
        ins.require_active(enrolling=False)


@pytest.mark.policy("X3", "P1")
def test_X3_a_reinstated_institution_enrols_again_and_P1_still_needs_the_occupation():
    ins = _institution()
    ins.suspend("调查", NOW)
    ins.reinstate(NOW)
    voucher = _voucher()
    voucher.enrol(ins, True, NOW)
    assert voucher.state is VoucherState.ENROLLED
    other = Institution.register("ins_2", "别的学校", sample_data.credit_code(random.Random(4)), "", ["9-99"], NOW)
    with pytest.raises(FailedPrecondition) as err:
        _voucher().enrol(other, True, NOW)
    assert [v.type for v in err.value.violations] == ["P1"]


# ------------------------------------------------------------------------------ list filters
def test_list_filters_name_every_bad_field():
    with pytest.raises(InvalidArgument) as err:
        OccupationFilter.checked("6-31%", 7, "abc", date(1989, 1, 1))
    assert _fields(err.value) == {"code_prefix", "level", "region", "in_force_on"}
    with pytest.raises(InvalidArgument) as err:
        InstitutionFilter.checked(None, "1", "a b", "x" * 65)
    assert _fields(err.value) == {"region", "occupation_code", "name_contains"}
    assert OccupationFilter.checked(" 6-31 ", 0, "", None) == OccupationFilter("6-31")
    assert InstitutionFilter.checked(None, "", "", " 学校 ").name_contains == "学校"


def test_a_page_token_is_bound_to_its_filters():
    one = bound_scope("occupations", OccupationFilter("6-31").binding())
    other = bound_scope("occupations", OccupationFilter("6-32").binding())
    dated = bound_scope("occupations", OccupationFilter("6-31", in_force_on=EARLIEST_CERTIFICATE).binding())
    assert len({one, other, dated}) == 3
    assert one == bound_scope("occupations", OccupationFilter("6-31").binding())
    token = encode_token("2025-07-01|6-31-01-03|4", one)
    assert decode_token(token, one) == "2025-07-01|6-31-01-03|4"
    for foreign in (other, dated, bound_scope("institutions", InstitutionFilter().binding())):
        with pytest.raises(InvalidArgument) as err:
            decode_token(token, foreign)
        assert _fields(err.value) == {"page_token"}
