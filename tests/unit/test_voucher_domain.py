"""Unit tests for voucher_svc/domain/model.py: catalogues (A1, P1, X3) and the voucher life cycle (V1-V5)."""

from __future__ import annotations

import copy
import random
from datetime import date, datetime, timedelta, timezone

import pytest

from skillpay.cli import sample_data
from skillpay.clock import shanghai_date
from skillpay.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from skillpay.pii import PiiVault, mask_resident_id
from voucher_svc.domain.lifecycle import VoucherEnrolled, VoucherIssued
from voucher_svc.domain.model import (
    Certificate,
    CertificateType,
    Institution,
    InstitutionStatus,
    Occupation,
    PersonIdentity,
    Voucher,
    VoucherRedeemed,
    VoucherState,
)

pytestmark = pytest.mark.unit

VAULT = PiiVault(bytes(range(32)), bytes(range(32, 64)))
OCC_CODE = "6-01-02-03"
STANDARD_FEN = 150_000


# A fixed instant, never the clock: 18:30 UTC is already the next day in Shanghai, so a test
# that confused the UTC date with the Shanghai date (the domain's) fails every time, not at night.
NOW = datetime(2025, 6, 30, 18, 30, tzinfo=timezone.utc)
TODAY = shanghai_date(NOW)  # 2025-07-01


def _now() -> datetime:
    return NOW


def _person(seed: int, name: str = "李小明") -> PersonIdentity:
    rid = sample_data.resident_id(random.Random(seed))
    return PersonIdentity(name, VAULT.lookup_hash(rid), VAULT.seal(rid), mask_resident_id(rid))


def _occupation(now: datetime, code: str = OCC_CODE, level: int = 4, standard: int = STANDARD_FEN) -> Occupation:
    return Occupation.register(code, "中式烹调师", level, standard, False, now)


def _institution(now: datetime, codes: list[str] | None = None, iid: str = "ins_1") -> Institution:
    return Institution.register(iid, "南阳职业培训学校", sample_data.credit_code(random.Random(3)), "南阳市卧龙区",
                                codes or [OCC_CODE], now)


def _number(level: int = 4, issued_on: date = TODAY, serial: int = 1) -> str:
    """A valid skill-level certificate number (V3) for this level and issue date."""
    return sample_data.skill_level_certificate_number(level, issued_on, serial, random.Random(0))


def _certificate(holder: PersonIdentity, now: datetime, cid: str = "crt_1", code: str = OCC_CODE,
                 level: int = 4) -> Certificate:
    issued_on = shanghai_date(now) - timedelta(days=1)
    return Certificate.record(cid, _number(level, issued_on, sum(map(ord, cid))), CertificateType.SKILL_LEVEL, holder,
                              code, level, issued_on, now)


def _voucher(holder: PersonIdentity, now: datetime, vid: str = "vch_1", days: int = 90,
             occupation: Occupation | None = None) -> Voucher:
    return Voucher.issue(vid, holder, occupation or _occupation(now), "employment_subsidy", "batch-2025-1",
                         now + timedelta(days=days), now)


def _enrolled(holder: PersonIdentity, now: datetime, vid: str = "vch_1") -> Voucher:
    v = _voucher(holder, now, vid)
    v.enrol(_institution(now), True, now)
    v.pull_events()  # issued, enrolled: what follows is about redemption
    return v


def _fields(exc: InvalidArgument) -> set[str]:
    return {v.field for v in exc.violations}


# ---------------------------------------------------------------------------------------- A1 occupations


@pytest.mark.policy("A1")
def test_A1_occupation_registers_with_standard_in_fen():
    now = _now()
    occ = Occupation.register("6-01-02-03", "  中式烹调师 ", 4, 150_000, True, now)
    assert (occ.code, occ.name, occ.level, occ.subsidy_standard_fen, occ.new_occupation, occ.created_at) == (
        "6-01-02-03", "中式烹调师", 4, 150_000, True, now)


@pytest.mark.policy("A1")
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "has space"}, "code"),
        ({"code": "x" * 33}, "code"),
        ({"code": "6/01"}, "code"),
        ({"name": "   "}, "name"),
        ({"name": "名" * 65}, "name"),
        ({"level": 0}, "level"),
        ({"level": 6}, "level"),
        ({"subsidy_standard_fen": 0}, "subsidy_standard_fen"),
        ({"subsidy_standard_fen": -100}, "subsidy_standard_fen"),
    ],
)
def test_A1_occupation_register_rejects_bad_field(kwargs, field):
    args = dict(code="6-01-02-03", name="中式烹调师", level=4, subsidy_standard_fen=150_000, new_occupation=False,
                now=_now())
    args.update(kwargs)
    with pytest.raises(InvalidArgument) as info:
        Occupation.register(**args)
    assert _fields(info.value) == {field}


@pytest.mark.policy("A1")
def test_A1_occupation_register_reports_every_bad_field_at_once():
    with pytest.raises(InvalidArgument) as info:
        Occupation.register("", "", 9, 0, False, _now())
    assert _fields(info.value) == {"code", "name", "level", "subsidy_standard_fen"}


@pytest.mark.policy("A1")
@pytest.mark.parametrize("level", [1, 5])
def test_A1_occupation_levels_1_to_5_are_accepted(level):
    assert Occupation.register("X.1", "n", level, 1, False, _now()).level == level


@pytest.mark.policy("A1")
def test_A1_occupation_code_with_trailing_newline_is_rejected():
    with pytest.raises(InvalidArgument) as info:
        Occupation.register("6-01-02-03\n", "中式烹调师", 4, 150_000, False, _now())
    assert _fields(info.value) == {"code"}


# ---------------------------------------------------------------------------------------- P1 / X3 institutions


@pytest.mark.policy("P1")
def test_P1_institution_registers_with_validated_credit_code_and_sorted_unique_occupations():
    now = _now()
    code = sample_data.credit_code(random.Random(11))
    ins = Institution.register("ins_9", " 学校 ", f" {code.lower()} ", " 地址 ", ["B", "A", "B"], now)
    assert ins.credit_code == code
    assert ins.name == "学校" and ins.address == "地址"
    assert ins.occupation_codes == ["A", "B"]
    assert ins.status is InstitutionStatus.ACTIVE


@pytest.mark.policy("P1")
def test_P1_institution_with_wrong_credit_code_check_character_is_rejected():
    code = sample_data.credit_code(random.Random(11))
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InvalidArgument) as info:
        Institution.register("ins_9", "学校", wrong, "地址", ["A"], _now())
    assert _fields(info.value) == {"credit_code"}


@pytest.mark.policy("P1")
def test_P1_institution_needs_a_name_and_at_least_one_occupation():
    with pytest.raises(InvalidArgument) as info:
        Institution.register("ins_9", " ", "not-a-code", "地址", [], _now())
    assert _fields(info.value) == {"name", "credit_code", "occupation_codes"}


@pytest.mark.policy("P1")
def test_P1_institution_can_train_only_approved_occupations():
    ins = _institution(_now(), codes=["A", "B"])
    assert ins.can_train("A") and ins.can_train("B")
    assert not ins.can_train("C")


@pytest.mark.policy("X3")
def test_X3_removed_institution_cannot_train():
    ins = _institution(_now(), codes=["A"])
    ins.status = InstitutionStatus.REMOVED
    assert not ins.can_train("A")


# ---------------------------------------------------------------------------------------- certificates


def test_certificate_records_with_required_fields():
    now = _now()
    holder = _person(1)
    cert = Certificate.record("crt_1", " 2511012003300001 ", CertificateType.VOCATIONAL_QUALIFICATION, holder,
                              OCC_CODE, 3, TODAY, now)
    assert cert.certificate_number == "2511012003300001"
    assert cert.redeemed_voucher_id is None
    assert cert.holder == holder


@pytest.mark.parametrize(
    ("number", "ctype", "level", "issued_on", "fields"),
    [
        ("", CertificateType.SKILL_LEVEL, 3, "today", {"certificate_number"}),
        ("N" * 65, CertificateType.SKILL_LEVEL, 3, "today", {"certificate_number"}),
        (_number(3), None, 3, "today", {"certificate_type"}),
        (_number(3), CertificateType.SKILL_LEVEL, 7, "today", {"level"}),
        (_number(3), CertificateType.SKILL_LEVEL, 3, None, {"issued_on"}),
        (_number(3), CertificateType.SKILL_LEVEL, 3, "tomorrow", {"issued_on"}),
    ],
)
def test_certificate_record_rejects_bad_field(number, ctype, level, issued_on, fields):
    now = _now()
    issued = {"today": TODAY, "tomorrow": TODAY + timedelta(days=1), None: None}[issued_on]
    with pytest.raises(InvalidArgument) as info:
        Certificate.record("crt_1", number, ctype, _person(1), OCC_CODE, level, issued, now)
    assert _fields(info.value) == fields


def test_certificate_dated_today_in_shanghai_is_accepted_early_in_the_morning():
    now_utc = datetime(2025, 2, 28, 17, 30, tzinfo=timezone.utc)  # 2025-03-01 01:30 in Shanghai
    cert = Certificate.record("crt_1", _number(4, date(2025, 3, 1)), CertificateType.SKILL_LEVEL, _person(1),
                              OCC_CODE, 4, date(2025, 3, 1), now_utc)
    assert cert.issued_on == date(2025, 3, 1)


@pytest.mark.parametrize(("shanghai_time", "today"), [
    ("2025-03-01T23:30:00+08:00", date(2025, 3, 1)),  # 15:30 UTC: the UTC date is the same
    ("2025-03-02T00:30:00+08:00", date(2025, 3, 2)),  # 16:30 UTC on 03-01: the UTC date is a day behind
])
def test_future_certificate_date_is_judged_by_the_shanghai_calendar_day(shanghai_time, today):
    now = datetime.fromisoformat(shanghai_time).astimezone(timezone.utc)
    assert shanghai_date(now) == today

    def record(issued_on: date) -> Certificate:
        return Certificate.record("crt_1", _number(4, issued_on), CertificateType.SKILL_LEVEL, _person(1), OCC_CODE, 4,
                                  issued_on, now)

    assert record(today).issued_on == today
    with pytest.raises(InvalidArgument) as info:
        record(today + timedelta(days=1))
    assert _fields(info.value) == {"issued_on"}


# ---------------------------------------------------------------------------------------- issue (V1, V4, V5)


@pytest.mark.policy("V1", "V4")
def test_V4_issued_voucher_is_real_name_records_fund_source_and_starts_issued():
    now = _now()
    holder = _person(1)
    v = _voucher(holder, now)
    assert v.state is VoucherState.ISSUED
    assert v.holder == holder
    assert v.fund_source == "employment_subsidy"
    assert (v.occupation_code, v.level) == (OCC_CODE, 4)
    assert v.value_fen == 0  # V3: no value without a certificate
    assert v.issued_at == now and v.valid_until == now + timedelta(days=90)
    # V4: every transition is an event; issue is the first
    assert v.pull_events() == [VoucherIssued("vch_1", holder, "targeted", OCC_CODE, 4, "employment_subsidy",
                                             "batch-2025-1", now + timedelta(days=90), now)]
    v.enrol(_institution(now), True, now)
    assert v.pull_events() == [VoucherEnrolled("vch_1", v.institution_id, OCC_CODE, 4, now)]


@pytest.mark.policy("V4")
@pytest.mark.parametrize("fund", ["", "   "])
def test_V4_voucher_without_fund_source_is_rejected(fund):
    now = _now()
    with pytest.raises(InvalidArgument) as info:
        Voucher.issue("v", _person(1), _occupation(now), fund, "b", now + timedelta(days=1), now)
    assert _fields(info.value) == {"fund_source"}


def test_voucher_without_batch_is_rejected():
    now = _now()
    with pytest.raises(InvalidArgument) as info:
        Voucher.issue("v", _person(1), _occupation(now), "f", " ", now + timedelta(days=1), now)
    assert _fields(info.value) == {"batch_id"}


@pytest.mark.policy("V5")
@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1), timedelta(days=-30)])
def test_V5_voucher_must_be_valid_into_the_future(offset):
    now = _now()
    with pytest.raises(InvalidArgument) as info:
        Voucher.issue("v", _person(1), _occupation(now), "f", "b", now + offset, now)
    assert _fields(info.value) == {"valid_until"}


# ---------------------------------------------------------------------------------------- enrol (V2, V4, P1, X1, X3)


@pytest.mark.policy("V4", "P1")
def test_V4_enrol_with_approved_institution_moves_issued_to_enrolled():
    now = _now()
    v = _voucher(_person(1), now)
    later = now + timedelta(days=1)
    v.enrol(_institution(now), True, later)
    assert v.state is VoucherState.ENROLLED
    assert v.institution_id == "ins_1"
    assert v.real_person_verified is True
    assert v.enrolled_at == later


@pytest.mark.policy("V4")
def test_V4_enrol_twice_with_the_same_institution_is_idempotent():
    now = _now()
    v = _enrolled(_person(1), now)
    before = copy.deepcopy(v)
    v.enrol(_institution(now), True, now + timedelta(days=2))
    assert v == before


@pytest.mark.policy("V4")
def test_V4_enrolled_voucher_cannot_enrol_with_another_institution():
    now = _now()
    v = _enrolled(_person(1), now)
    before = copy.deepcopy(v)
    with pytest.raises(FailedPrecondition):
        v.enrol(_institution(now, iid="ins_2"), True, now)
    assert v == before


@pytest.mark.policy("P1")
def test_P1_enrol_with_institution_not_approved_for_the_occupation_fails():
    now = _now()
    v = _voucher(_person(1), now)
    before = copy.deepcopy(v)
    with pytest.raises(FailedPrecondition, match="P1"):
        v.enrol(_institution(now, codes=["other"]), True, now)
    assert v == before


@pytest.mark.policy("X3")
def test_X3_enrol_with_removed_institution_fails():
    now = _now()
    v = _voucher(_person(1), now)
    ins = _institution(now)
    ins.status = InstitutionStatus.REMOVED
    with pytest.raises(FailedPrecondition, match="X3"):
        v.enrol(ins, True, now)
    assert v.state is VoucherState.ISSUED and v.institution_id is None


@pytest.mark.policy("V2", "X1")
def test_V2_enrol_without_real_person_check_fails():
    now = _now()
    v = _voucher(_person(1), now)
    with pytest.raises(FailedPrecondition, match="real-person"):
        v.enrol(_institution(now), False, now)
    assert v.state is VoucherState.ISSUED
    assert v.real_person_verified is False and v.institution_id is None


# ---------------------------------------------------------------------------------------- V5 expiry


@pytest.mark.policy("V5")
@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=365)])
def test_V5_enrol_at_or_after_valid_until_fails_and_leaves_the_voucher_unchanged(after):
    now = _now()
    v = _voucher(_person(1), now, days=10)
    before = copy.deepcopy(v)
    with pytest.raises(FailedPrecondition, match="V5"):
        v.enrol(_institution(now), True, v.valid_until + after)
    assert v == before and v.state is VoucherState.ISSUED
    assert v.institution_id is None


@pytest.mark.policy("V5")
def test_V5_enrol_just_before_valid_until_succeeds():
    now = _now()
    v = _voucher(_person(1), now, days=10)
    v.enrol(_institution(now), True, v.valid_until - timedelta(seconds=1))
    assert v.state is VoucherState.ENROLLED


@pytest.mark.policy("V5")
def test_V5_redeem_after_valid_until_fails_and_leaves_the_enrolled_voucher_unchanged():
    now = _now()
    holder = _person(1)
    v = _enrolled(holder, now)
    before = copy.deepcopy(v)
    cert = _certificate(holder, now)
    with pytest.raises(FailedPrecondition, match="V5"):
        v.redeem(cert, _occupation(now), v.valid_until + timedelta(minutes=1))
    assert v == before and v.state is VoucherState.ENROLLED
    assert v.value_fen == 0 and v.certificate_id is None
    assert cert.redeemed_voucher_id is None
    assert v.pull_events() == []


@pytest.mark.policy("V5")
def test_V5_idempotent_re_enrol_after_valid_until_also_fails_and_changes_nothing():
    now = _now()
    v = _enrolled(_person(1), now)
    before = copy.deepcopy(v)
    with pytest.raises(FailedPrecondition, match="V5"):
        v.enrol(_institution(now), True, v.valid_until)
    assert v == before and v.state is VoucherState.ENROLLED


@pytest.mark.policy("V5", "V4")
def test_V5_redeemed_voucher_does_not_expire_and_can_still_be_paid():
    now = _now()
    holder = _person(1)
    v = _enrolled(holder, now)
    v.redeem(_certificate(holder, now), _occupation(now), now)
    assert v.mark_paid("pay_1", v.valid_until + timedelta(days=30)) is True
    assert v.state is VoucherState.PAID


# ---------------------------------------------------------------------------------------- redeem (V2, V3)


@pytest.mark.policy("V3", "V4", "A3")
def test_V3_redeem_with_own_certificate_fixes_value_from_occupation_standard():
    now = _now()
    holder = _person(1)
    v = _enrolled(holder, now)
    cert = _certificate(holder, now)
    at = now + timedelta(days=5)
    v.redeem(cert, _occupation(now, standard=123_456), at)
    assert v.state is VoucherState.REDEEMED
    # Without a valuation given, the default policy with no employment: A3 (skill-level), 80%, rounded down.
    assert (v.value_fen, v.rate_percent, v.valuation_rule, v.standard_fen) == (98_764, 80, "A3", 123_456)
    assert v.certificate_id == "crt_1"
    assert v.redeemed_at == at
    assert cert.redeemed_voucher_id == "vch_1"


@pytest.mark.policy("V3")
def test_V3_value_stays_fixed_after_redemption_when_the_standard_changes():
    now = _now()
    holder = _person(1)
    v = _enrolled(holder, now)
    occupation = _occupation(now, standard=100_000)
    v.redeem(_certificate(holder, now), occupation, now)
    occupation.subsidy_standard_fen = 200_000
    with pytest.raises(FailedPrecondition):
        v.redeem(_certificate(holder, now, cid="crt_2"), occupation, now)
    assert (v.value_fen, v.standard_fen) == (80_000, 100_000)


@pytest.mark.policy("V2")
def test_V2_certificate_of_another_person_is_permission_denied_and_voucher_unchanged():
    now = _now()
    holder, other = _person(1), _person(2, name="张三")
    assert holder.id_lookup != other.id_lookup
    v = _enrolled(holder, now)
    before = copy.deepcopy(v)
    cert = _certificate(other, now)
    with pytest.raises(PermissionDenied, match="V2"):
        v.redeem(cert, _occupation(now), now)
    assert v == before
    assert v.state is VoucherState.ENROLLED and v.value_fen == 0
    assert cert.redeemed_voucher_id is None
    assert v.pull_events() == []


@pytest.mark.policy("V2")
def test_V2_same_name_different_id_is_still_another_person():
    now = _now()
    holder, namesake = _person(1, name="王伟"), _person(2, name="王伟")
    v = _enrolled(holder, now)
    with pytest.raises(PermissionDenied):
        v.redeem(_certificate(namesake, now), _occupation(now), now)
    assert v.state is VoucherState.ENROLLED


@pytest.mark.policy("V3")
def test_V3_certificate_redeems_at_most_one_voucher():
    now = _now()
    holder = _person(1)
    first, second = _enrolled(holder, now, "vch_1"), _enrolled(holder, now, "vch_2")
    cert = _certificate(holder, now)
    first.redeem(cert, _occupation(now), now)
    before = copy.deepcopy(second)
    with pytest.raises(FailedPrecondition, match="V3"):
        second.redeem(cert, _occupation(now), now)
    assert second == before
    assert second.state is VoucherState.ENROLLED and second.value_fen == 0
    assert cert.redeemed_voucher_id == "vch_1"
    assert second.pull_events() == []


@pytest.mark.policy("V3")
@pytest.mark.parametrize(("code", "level"), [("other-occ", 4), (OCC_CODE, 3)])
def test_V3_certificate_for_another_occupation_or_level_does_not_redeem(code, level):
    now = _now()
    holder = _person(1)
    v = _enrolled(holder, now)
    cert = _certificate(holder, now, code=code, level=level)
    with pytest.raises(FailedPrecondition, match="V3"):
        v.redeem(cert, _occupation(now), now)
    assert v.state is VoucherState.ENROLLED
    assert cert.redeemed_voucher_id is None


@pytest.mark.policy("V4")
def test_V4_issued_but_not_enrolled_voucher_cannot_be_redeemed():
    now = _now()
    holder = _person(1)
    v = _voucher(holder, now)
    cert = _certificate(holder, now)
    with pytest.raises(FailedPrecondition, match="issued"):
        v.redeem(cert, _occupation(now), now)
    assert v.state is VoucherState.ISSUED
    assert cert.redeemed_voucher_id is None


@pytest.mark.policy("V3", "V4")
def test_V4_redeem_records_one_voucher_redeemed_event_pulled_once():
    now = _now()
    holder = _person(1)
    v = _enrolled(holder, now)
    v.redeem(_certificate(holder, now), _occupation(now), now)
    events = v.pull_events()
    assert events == [VoucherRedeemed(
        voucher_id="vch_1", holder=holder, institution_id="ins_1", occupation_code=OCC_CODE, level=4,
        certificate_id="crt_1", certificate_type=CertificateType.SKILL_LEVEL, value_fen=STANDARD_FEN * 80 // 100,
        fund_source="employment_subsidy", redeemed_at=now, rate_percent=80, valuation_rule="A3",
        standard_fen=STANDARD_FEN, employment_window_end=date(2025, 9, 30),
        redemption_id="vch_1", redemption_no=1)]  # certificate of 06-30, + 3 months
    assert v.pull_events() == []


# ---------------------------------------------------------------------------------------- mark_paid (V4)


@pytest.mark.policy("V4")
def test_V4_full_life_cycle_issued_enrolled_redeemed_paid():
    now = _now()
    holder = _person(1)
    v = _voucher(holder, now)
    states = [v.state]
    v.enrol(_institution(now), True, now + timedelta(days=1))
    states.append(v.state)
    v.redeem(_certificate(holder, now + timedelta(days=30)), _occupation(now), now + timedelta(days=30))
    states.append(v.state)
    assert v.mark_paid("pay_1", now + timedelta(days=40)) is True
    states.append(v.state)
    assert states == [VoucherState.ISSUED, VoucherState.ENROLLED, VoucherState.REDEEMED, VoucherState.PAID]
    assert v.payment_id == "pay_1" and v.paid_at == now + timedelta(days=40)


@pytest.mark.policy("V4")
def test_V4_mark_paid_is_idempotent():
    now = _now()
    holder = _person(1)
    v = _enrolled(holder, now)
    v.redeem(_certificate(holder, now), _occupation(now), now)
    assert v.mark_paid("pay_1", now) is True
    assert v.mark_paid("pay_2", now + timedelta(days=1)) is False
    assert v.payment_id == "pay_1" and v.paid_at == now


@pytest.mark.policy("V4")
@pytest.mark.parametrize("state", [VoucherState.ISSUED, VoucherState.ENROLLED, VoucherState.EXPIRED,
                                   VoucherState.CANCELLED, VoucherState.REVOKED])
def test_V4_only_a_redeemed_voucher_can_be_paid(state):
    now = _now()
    v = _voucher(_person(1), now)
    v.state = state
    with pytest.raises(FailedPrecondition):
        v.mark_paid("pay_1", now)
    assert v.state is state and v.payment_id is None


@pytest.mark.policy("V4")
@pytest.mark.parametrize("state", [VoucherState.CANCELLED, VoucherState.REVOKED, VoucherState.EXPIRED,
                                   VoucherState.REDEEMED, VoucherState.PAID])
def test_V4_only_an_issued_voucher_can_be_enrolled(state):
    now = _now()
    v = _voucher(_person(1), now)
    v.state = state
    with pytest.raises(FailedPrecondition):
        v.enrol(_institution(now), True, now)
    assert v.state is state
