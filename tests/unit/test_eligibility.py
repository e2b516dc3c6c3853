"""The repeat-subsidy limits L1-L4 (voucher_svc/domain/eligibility.py), rule by rule, at their boundaries."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from skillpay.errors import FailedPrecondition
from voucher_svc.domain.eligibility import (
    Candidate,
    EligibilityLimits,
    EligibilityPolicy,
    HistoryEntry,
    add_months,
)
from voucher_svc.domain.model import VoucherState

pytestmark = pytest.mark.unit

POLICY = EligibilityPolicy()
VALID_UNTIL = datetime(2030, 1, 1, tzinfo=timezone.utc)
CHINA = timezone(timedelta(hours=8))


def subsidised(n: int, code: str, level: int, on: date, state=VoucherState.REDEEMED) -> HistoryEntry:
    return HistoryEntry(f"vch_{n}", code, level, state, on, VALID_UNTIL)


def redeeming(code="1-01-01-01", level=4, on=date(2025, 6, 1)) -> Candidate:
    return Candidate("vch_new", code, level, certificate_date=on)


def enrolling(at: datetime, code="1-01-01-01", level=4) -> Candidate:
    return Candidate("vch_new", code, level, enrolled_at=at)


def rules(history, candidate) -> list[str]:
    return [v.type for v in POLICY.violations(history, candidate)]


# -- L1 ------------------------------------------------------------------------------------------
@pytest.mark.policy("L1")
def test_L1_three_subsidies_in_a_year_pass_and_the_fourth_is_refused():
    history = [subsidised(i, f"2-0{i}-01-01", 4, date(2025, 1 + i, 10)) for i in range(3)]
    assert rules(history[:2], redeeming()) == []
    assert rules(history, redeeming()) == ["L1"]


@pytest.mark.policy("L1")
def test_L1_counts_the_calendar_year_of_the_certificate_date():
    history = [subsidised(i, f"2-0{i}-01-01", 4, date(2025, 12, 29 + i)) for i in range(3)]  # Dec 29, 30, 31
    assert rules(history, redeeming(on=date(2025, 12, 31))) == ["L1"]
    assert rules(history, redeeming(on=date(2026, 1, 1))) == []
    # a certificate of Jan 1 of the next year does not count against the year before
    moved = history[:2] + [subsidised(9, "2-09-01-01", 4, date(2026, 1, 1))]
    assert rules(moved, redeeming(on=date(2025, 12, 31))) == []


@pytest.mark.policy("L1")
def test_L1_counts_only_subsidised_vouchers_and_not_the_candidate_itself():
    on = date(2025, 3, 1)
    history = [subsidised(0, "2-00-01-01", 4, on), subsidised(1, "2-01-01-01", 4, on, VoucherState.PAID)]
    history += [HistoryEntry(f"vch_x{i}", "2-05-01-01", 4, state, on, VALID_UNTIL)
                for i, state in enumerate([VoucherState.CANCELLED, VoucherState.REVOKED, VoucherState.EXPIRED,
                                           VoucherState.ENROLLED, VoucherState.ISSUED])]
    history.append(HistoryEntry("vch_new", "1-01-01-01", 4, VoucherState.REDEEMED, on, VALID_UNTIL))  # a retry
    assert rules(history, redeeming(on=on)) == []
    assert rules(history + [subsidised(2, "2-02-01-01", 4, on)], redeeming(on=on)) == ["L1"]


@pytest.mark.policy("L1")
def test_L1_limit_is_configuration():
    strict = EligibilityPolicy(EligibilityLimits(per_year=1))
    assert [v.type for v in strict.violations([subsidised(0, "2-00-01-01", 4, date(2025, 1, 1))],
                                              redeeming())] == ["L1"]


# -- L2 ------------------------------------------------------------------------------------------
@pytest.mark.policy("L2")
def test_L2_same_occupation_and_level_only_once():
    history = [subsidised(0, "1-01-01-01", 4, date(2024, 1, 1))]
    assert rules(history, redeeming()) == ["L2"]
    assert rules(history, enrolling(datetime(2025, 6, 1, tzinfo=CHINA))) == ["L2"]


@pytest.mark.policy("L2")
def test_L2_same_occupation_at_another_level_or_another_occupation_is_fine():
    history = [subsidised(0, "1-01-01-01", 4, date(2024, 1, 1))]
    assert rules(history, redeeming(level=3)) == []
    assert rules(history, redeeming(code="1-01-01-02", level=4)) == []
    cancelled = [subsidised(0, "1-01-01-01", 4, date(2024, 1, 1), VoucherState.CANCELLED)]
    assert rules(cancelled, redeeming()) == []


# -- L3 ------------------------------------------------------------------------------------------
@pytest.mark.policy("L3")
def test_L3_no_lower_level_after_a_subsidised_higher_one():
    higher = [subsidised(0, "1-01-01-01", 3, date(2024, 1, 1))]  # 3 (高级工) is above 4 (中级工)
    assert rules(higher, redeeming(level=4)) == ["L3"]
    assert rules(higher, redeeming(level=5)) == ["L3"]
    assert rules([subsidised(0, "1-01-01-01", 1, date(2024, 1, 1))], redeeming(level=2)) == ["L3"]


@pytest.mark.policy("L3")
def test_L3_a_higher_level_after_a_lower_one_and_other_occupations_are_fine():
    lower = [subsidised(0, "1-01-01-01", 5, date(2024, 1, 1))]
    assert rules(lower, redeeming(level=4)) == []
    assert rules([subsidised(0, "1-01-01-02", 1, date(2024, 1, 1))], redeeming(level=5)) == []


# -- L4 ------------------------------------------------------------------------------------------
@pytest.mark.policy("L4")
def test_L4_no_enrolment_while_the_previous_training_is_not_assessed():
    pending = [HistoryEntry("vch_0", "2-00-01-01", 4, VoucherState.ENROLLED, None, VALID_UNTIL)]
    assert rules(pending, enrolling(datetime(2025, 6, 1, tzinfo=CHINA))) == ["L4"]
    # an issued (not enrolled) or expired enrolled voucher is no training under way
    issued = [HistoryEntry("vch_0", "2-00-01-01", 4, VoucherState.ISSUED, None, VALID_UNTIL)]
    assert rules(issued, enrolling(datetime(2025, 6, 1, tzinfo=CHINA))) == []
    lapsed = [HistoryEntry("vch_0", "2-00-01-01", 4, VoucherState.ENROLLED, None,
                           datetime(2025, 5, 1, tzinfo=timezone.utc))]
    assert rules(lapsed, enrolling(datetime(2025, 6, 1, tzinfo=CHINA))) == []
    # redemption does not look at L4: the training being assessed is the candidate's own
    assert rules(pending, redeeming(code="2-09-01-01")) == []


@pytest.mark.policy("L4")
@pytest.mark.parametrize("assessed, first_allowed", [
    (date(2025, 1, 15), date(2025, 2, 15)),
    (date(2025, 1, 31), date(2025, 2, 28)),  # no Feb 31: the month's last day
    (date(2024, 1, 31), date(2024, 2, 29)),  # leap year
    (date(2025, 12, 20), date(2026, 1, 20)),  # across the year
])
def test_L4_one_calendar_month_after_the_assessment(assessed, first_allowed):
    history = [subsidised(0, "2-00-01-01", 4, assessed)]
    at = datetime.combine(first_allowed, datetime.min.time(), CHINA)
    assert rules(history, enrolling(at - timedelta(seconds=1))) == ["L4"]  # the day before, 23:59:59
    assert rules(history, enrolling(at)) == []
    assert add_months(assessed, 1) == first_allowed


@pytest.mark.policy("L4")
def test_L4_counts_days_in_Asia_Shanghai():
    history = [subsidised(0, "2-00-01-01", 4, date(2025, 1, 1))]
    # 2025-01-31 16:00 UTC is already 2025-02-01 in Beijing
    assert rules(history, enrolling(datetime(2025, 1, 31, 15, 59, 59, tzinfo=timezone.utc))) == ["L4"]
    assert rules(history, enrolling(datetime(2025, 1, 31, 16, 0, tzinfo=timezone.utc))) == []


@pytest.mark.policy("L4")
def test_L4_uses_the_latest_assessment():
    history = [subsidised(0, "2-00-01-01", 4, date(2024, 1, 1)), subsidised(1, "2-01-01-01", 4, date(2025, 5, 20))]
    assert rules(history, enrolling(datetime(2025, 6, 19, 12, tzinfo=CHINA))) == ["L4"]
    assert rules(history, enrolling(datetime(2025, 6, 20, 12, tzinfo=CHINA))) == []


# -- all at once ---------------------------------------------------------------------------------
@pytest.mark.policy("L1", "L2", "L3", "L4")
def test_every_failed_rule_is_returned_at_once_with_reasons_in_chinese_and_english():
    on = date(2025, 6, 1)
    history = [subsidised(0, "1-01-01-01", 4, on), subsidised(1, "1-01-01-01", 3, on),
               subsidised(2, "2-00-01-01", 4, on)]
    candidate = Candidate("vch_new", "1-01-01-01", 4, certificate_date=on,
                          enrolled_at=datetime(2025, 6, 2, tzinfo=CHINA))
    found = POLICY.violations(history, candidate)
    assert [v.type for v in found] == ["L1", "L2", "L3", "L4"]
    for v in found:
        zh, en = v.description.split(" / ")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii()
        assert v.subject == "person"
    with pytest.raises(FailedPrecondition) as err:
        POLICY.check(history, candidate)
    assert [v.type for v in err.value.violations] == ["L1", "L2", "L3", "L4"]
    assert "L1" in str(err.value) and "L4" in str(err.value)


def test_a_failed_precondition_with_violations_reaches_the_client_as_a_bounded_precondition_failure():
    from google.rpc import error_details_pb2, status_pb2

    from skillpay.errors import PreconditionViolation
    from skillpay.grpc_server import MAX_VIOLATIONS, status_for

    many = [PreconditionViolation(f"L{i}", "person", "理由 / reason " + "x" * 1000) for i in range(50)]
    code, trailers = status_for(FailedPrecondition(violations=many))
    status = status_pb2.Status.FromString(dict(trailers)["grpc-status-details-bin"])
    [failure] = [d for d in status.details if d.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR)]
    unpacked = error_details_pb2.PreconditionFailure()
    failure.Unpack(unpacked)
    assert code.name == "FAILED_PRECONDITION"
    assert len(unpacked.violations) == MAX_VIOLATIONS
    assert unpacked.violations[0].type == "L0" and len(unpacked.violations[0].description) <= 301
    assert len(status.message) <= 501
    # a plain FailedPrecondition keeps its message and sends no PreconditionFailure
    code, trailers = status_for(FailedPrecondition("voucher expired (V5)"))
    status = status_pb2.Status.FromString(dict(trailers)["grpc-status-details-bin"])
    assert status.message == "voucher expired (V5)"
    assert not any(d.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR) for d in status.details)
