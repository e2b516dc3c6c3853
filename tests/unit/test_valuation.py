"""Unit tests for voucher_svc/domain/valuation.py: the value of a redemption (A2-A4) and A5's top-up."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillpay.cli import sample_data
from skillpay.pii import PiiVault, mask_resident_id
from voucher_svc.domain.model import (
    Certificate,
    CertificateType,
    Institution,
    Occupation,
    PersonIdentity,
    Voucher,
    VoucherState,
    VoucherToppedUp,
    top_up_id_for,
)
from voucher_svc.domain.valuation import (
    DEFAULT_VALUATION,
    ValuationPolicy,
    ValuationRule,
    percent_of,
)

pytestmark = pytest.mark.unit

STANDARD = 150_000
CERTIFIED = 2025, 5, 20
ON = date(*CERTIFIED)
NOW = datetime(2025, 6, 30, 18, 30, tzinfo=timezone.utc)
VAULT = PiiVault(bytes(range(32)), bytes(range(32, 64)))


def value(certificate_type=CertificateType.SKILL_LEVEL, new_occupation=False, starts=(), on=ON,
          standard=STANDARD, policy=DEFAULT_VALUATION):
    return policy.value(standard, new_occupation, certificate_type, on, starts)


# -- A2-A4 by certificate type and new-occupation flag -------------------------------------------------
@pytest.mark.policy("A3", "A4")
@pytest.mark.parametrize(("certificate_type", "new_occupation", "rule", "rate"), [
    (CertificateType.VOCATIONAL_QUALIFICATION, False, ValuationRule.A3, 80),
    (CertificateType.VOCATIONAL_QUALIFICATION, True, ValuationRule.A3, 80),
    (CertificateType.SKILL_LEVEL, False, ValuationRule.A3, 80),
    (CertificateType.SKILL_LEVEL, True, ValuationRule.A3, 80),
    (CertificateType.SPECIAL_ABILITY, False, ValuationRule.A3, 80),
    (CertificateType.SPECIAL_ABILITY, True, ValuationRule.A3, 80),
    (CertificateType.TRAINING_QUALIFIED, True, ValuationRule.A3, 80),  # a MOHRSS new occupation
    (CertificateType.TRAINING_QUALIFIED, False, ValuationRule.A4, 50),  # any other occupation
])
def test_A3_A4_without_employment_the_certificate_type_and_new_occupation_flag_decide(
        certificate_type, new_occupation, rule, rate):
    v = value(certificate_type, new_occupation)
    assert (v.rule, v.rate_percent, v.value_fen, v.standard_fen) == (rule, rate, STANDARD * rate // 100, STANDARD)
    assert v.window_end == date(2025, 8, 20) and v.window_start is None


@pytest.mark.policy("A2")
@pytest.mark.parametrize("certificate_type", list(CertificateType))
@pytest.mark.parametrize("new_occupation", [False, True])
def test_A2_employment_in_the_window_pays_the_whole_standard_whatever_the_certificate(certificate_type,
                                                                                     new_occupation):
    v = value(certificate_type, new_occupation, starts=[date(2025, 7, 1)])
    assert (v.rule, v.rate_percent, v.value_fen) == (ValuationRule.A2, 100, STANDARD)


@pytest.mark.policy("A2")
@pytest.mark.parametrize(("start", "rule"), [
    (date(2025, 8, 20), ValuationRule.A2),  # the window's last day: certificate date + 3 calendar months
    (date(2025, 8, 21), ValuationRule.A3),  # the day after: too late
    (date(2025, 5, 20), ValuationRule.A2),  # the certificate's own day
    (date(2020, 1, 1), ValuationRule.A2),  # a job held since before the course counts (no look-back by default)
])
def test_A2_window_boundaries(start, rule):
    assert value(starts=[start]).rule is rule


@pytest.mark.policy("A2")
def test_A2_only_one_of_several_jobs_needs_to_be_in_the_window():
    assert value(starts=[date(2025, 9, 1), date(2025, 8, 1)]).rule is ValuationRule.A2
    assert value(starts=[date(2025, 9, 1), date(2026, 1, 1)]).rule is ValuationRule.A3


@pytest.mark.policy("A2")
@pytest.mark.parametrize(("certified", "window_end"), [
    (date(2025, 11, 30), date(2026, 2, 28)),  # month-end clamp: February has no 30th
    (date(2023, 11, 30), date(2024, 2, 29)),  # ... nor, in a leap year, a 30th: the 29th
    (date(2025, 11, 29), date(2026, 2, 28)),
    (date(2025, 8, 31), date(2025, 11, 30)),
    (date(2025, 10, 31), date(2026, 1, 31)),  # across the year end
    (date(2025, 1, 31), date(2025, 4, 30)),
])
def test_A2_window_end_clamps_to_the_last_day_of_a_shorter_month(certified, window_end):
    v = value(on=certified)
    assert v.window_end == window_end
    assert value(on=certified, starts=[window_end]).rule is ValuationRule.A2
    assert value(on=certified, starts=[window_end + timedelta(days=1)]).rule is ValuationRule.A3


@pytest.mark.policy("A2")
def test_A2_a_configured_look_back_refuses_jobs_that_started_long_before_the_certificate():
    policy = ValuationPolicy(employment_lookback_days=30)
    v = value(policy=policy, starts=[date(2025, 4, 20)])  # exactly 30 days before: the window's first day
    assert (v.rule, v.window_start) == (ValuationRule.A2, date(2025, 4, 20))
    assert value(policy=policy, starts=[date(2025, 4, 19)]).rule is ValuationRule.A3


@pytest.mark.policy("A2", "A3", "A4")
def test_rates_and_window_are_configuration():
    policy = ValuationPolicy(employed_percent=90, certified_percent=70, training_qualified_percent=40,
                             employment_window_months=6)
    assert value(policy=policy, starts=[date(2025, 11, 20)]).rate_percent == 90
    assert value(policy=policy).rate_percent == 70
    assert value(CertificateType.TRAINING_QUALIFIED, policy=policy).rate_percent == 40
    assert policy.full_value(STANDARD) == 135_000
    with pytest.raises(ValueError):
        ValuationPolicy(certified_percent=101)
    with pytest.raises(ValueError):
        ValuationPolicy(employed_percent=70)  # below A3's: A5 would top up downwards


@pytest.mark.policy("A3", "A4")
def test_rounding_is_down_to_the_fen_never_an_overpayment():
    assert percent_of(150_001, 80) == 120_000  # 120,000.8
    assert percent_of(3, 50) == 1  # 1.5
    assert percent_of(1, 80) == 0
    assert value(standard=99_999).value_fen == 79_999  # 79,999.2


@given(standard=st.integers(1, 10_000_000), certificate_type=st.sampled_from(list(CertificateType)),
       new_occupation=st.booleans(),
       starts=st.lists(st.dates(date(1990, 1, 1), date(2030, 12, 31)), max_size=3),
       on=st.dates(date(1990, 1, 1), date(2030, 12, 31)),
       rates=st.tuples(st.integers(1, 100), st.integers(1, 100), st.integers(1, 100)).map(sorted))
@pytest.mark.policy("A2", "A3", "A4", "A5")
def test_value_never_exceeds_the_standard_and_with_its_top_up_never_exceeds_it_either(
        standard, certificate_type, new_occupation, starts, on, rates):
    a4, a3, a2 = rates
    policy = ValuationPolicy(employed_percent=a2, certified_percent=a3, training_qualified_percent=a4)
    v = policy.value(standard, new_occupation, certificate_type, on, starts)
    assert 0 <= v.value_fen <= standard
    top_up = policy.full_value(standard) - v.value_fen
    assert top_up >= 0
    assert v.value_fen + top_up <= standard
    if a2 == 100:
        assert v.value_fen + top_up == standard
    if v.rule is ValuationRule.A2:
        assert top_up == 0


# -- A5 on the voucher ------------------------------------------------------------------------------
def _person(seed: int = 1) -> PersonIdentity:
    rid = sample_data.resident_id(random.Random(seed))
    return PersonIdentity("李小明", VAULT.lookup_hash(rid), VAULT.seal(rid), mask_resident_id(rid))


def _redeemed(certificate_type=CertificateType.SKILL_LEVEL, starts=()) -> Voucher:
    holder = _person()
    occupation = Occupation.register("6-31-01-03", "电工", 4, STANDARD, False, NOW)
    voucher = Voucher.issue("vch_1", holder, occupation, "ESF", "b1", NOW + timedelta(days=90), NOW)
    voucher.enrol(Institution.register("ins_1", "学校", sample_data.credit_code(random.Random(3)), "北京",
                                       ["6-31-01-03"], NOW), True, NOW)
    number = (sample_data.skill_level_certificate_number(4, ON, 1) if certificate_type is CertificateType.SKILL_LEVEL
              else "LOCAL-0001")
    certificate = Certificate.record("crt_1", number, certificate_type, holder, "6-31-01-03", 4, ON, NOW)
    voucher.redeem(certificate, occupation, NOW, value(certificate_type, starts=starts))
    voucher.pull_events()
    return voucher


@pytest.mark.policy("A5")
@pytest.mark.parametrize(("certificate_type", "value_fen", "top_up"), [
    (CertificateType.SKILL_LEVEL, 120_000, 30_000),
    (CertificateType.TRAINING_QUALIFIED, 75_000, 75_000),
])
def test_A5_employment_later_in_the_window_tops_up_once_to_the_full_value(certificate_type, value_fen, top_up):
    v = _redeemed(certificate_type)
    assert v.value_fen == value_fen
    later = NOW + timedelta(days=20)
    assert v.top_up(date(2025, 8, 20), DEFAULT_VALUATION.full_value(v.standard_fen), later) is True
    assert (v.topped_up_fen, v.topped_up_at, v.value_fen) == (top_up, later, value_fen)  # the value paid stays
    [event] = v.pull_events()
    assert event == VoucherToppedUp(top_up_id_for("vch_1", "crt_1"), "vch_1", v.holder, "ins_1", "6-31-01-03", 4,
                                    "crt_1", value_fen, top_up, STANDARD, "ESF", date(2025, 8, 20), later)
    assert v.audit_state() == "redeemed+top_up"
    # A second qualifying job, or the same one again: never a second top-up.
    assert v.top_up(date(2025, 7, 1), STANDARD, later) is False
    assert v.pull_events() == [] and v.topped_up_fen == top_up


@pytest.mark.policy("A5")
def test_A5_no_top_up_outside_the_window_for_an_A2_value_or_an_unredeemed_voucher():
    v = _redeemed()
    assert v.top_up(date(2025, 8, 21), STANDARD, NOW) is False  # the day after the window
    full = _redeemed(starts=[date(2025, 6, 1)])
    assert full.valuation_rule == "A2" and full.top_up(date(2025, 7, 1), STANDARD, NOW) is False
    legacy = _redeemed()
    legacy.valuation_rule = ""  # redeemed before A2-A4: it was paid the whole standard
    assert legacy.top_up(date(2025, 7, 1), STANDARD, NOW) is False
    for voucher in (v, full, legacy):
        assert voucher.topped_up_fen == 0 and voucher.pull_events() == []


@pytest.mark.policy("A5")
def test_A5_a_paid_voucher_is_topped_up_and_stays_paid():
    v = _redeemed()
    assert v.mark_paid("po_1", NOW)
    assert v.top_up(date(2025, 7, 1), STANDARD, NOW) is True
    assert v.state is VoucherState.PAID and v.topped_up_fen == 30_000
    assert v.audit_state() == "paid+top_up"
