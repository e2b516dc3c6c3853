"""V3: certificate numbers follow their type's defined format; locally numbered types are only bounded."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillpay.cli.sample_data import skill_level_certificate_number
from voucher_svc.domain.certificate_numbers import number_violations

pytestmark = [pytest.mark.unit, pytest.mark.policy("V3")]

ISSUED = date(2025, 3, 1)


def problems(kind: str, number: str, level: int = 4, issued_on: date | None = ISSUED) -> list[str]:
    return [v.description for v in number_violations(kind, number, level, issued_on)]


@pytest.mark.parametrize("number", [
    "2511012003400001",  # 2025, province 11, city 01, local station (2) 003, level 4, serial 00001
    "2572000318499999",  # an industry station (3) of ministry code 72
])
def test_a_vocational_qualification_number_of_the_16_digit_rule_is_accepted(number):
    assert problems("vocational_qualification", number) == []


@pytest.mark.parametrize(("number", "part"), [
    ("251101200340001", "16-digit"),  # 15 digits
    ("25110120034000011", "16-digit"),  # 17
    ("2511015003400001", "16-digit"),  # testing body kind 5: only 0-4 exist
    ("2511012003600001", "16-digit"),  # level 6
    ("25110120034A0001", "16-digit"),
    ("2511012003400000", "serial"),
    ("2511012003300001", "level"),  # level 3 for a level-4 certificate
    ("2411012003400001", "year"),  # issued 2024 by its number, 2025 by its date
])
def test_a_vocational_qualification_number_off_the_rule_is_refused_naming_why(number, part):
    [problem] = problems("vocational_qualification", number)
    assert part in problem


@pytest.mark.parametrize("number", [
    "Y000123000001254000001",  # employer Y, body 0001, province 23, site 000001, 2025, level 4, serial 1
    "S000011123456254999999",
])
def test_a_skill_level_number_of_the_22_character_rule_is_accepted(number):
    assert problems("skill_level", number) == []


@pytest.mark.parametrize(("number", "part"), [
    ("X000123000001254000001", "22-character"),  # neither Y nor S
    ("y000123000001254000001", "22-character"),
    ("Y00012300000125400001", "22-character"),  # 21 characters
    ("Y000123000001257000001", "22-character"),  # level 7
    ("Y000123000001254000000", "serial"),
    ("Y000123000001255000001", "level"),
    ("Y000123000001264000001", "year"),
])
def test_a_skill_level_number_off_the_rule_is_refused_naming_why(number, part):
    [problem] = problems("skill_level", number)
    assert part in problem


@pytest.mark.parametrize("kind", ["special_ability", "training_qualified"])
def test_locally_numbered_types_are_bounded_plain_text_only(kind):
    assert problems(kind, "NY-2025/0001") == []
    assert problems(kind, "PX.0001_a") == []
    for bad in ("A1", "x" * 41, "-leading", "with space", "中文编号0001"):
        assert problems(kind, bad), bad


def test_without_a_valid_level_or_date_only_the_format_is_checked():
    assert problems("skill_level", "Y000123000001254000001", level=9) == []  # the level gets its own violation
    assert problems("vocational_qualification", "2511012003400001", issued_on=None) == []


@given(st.integers(1, 5), st.dates(date(2000, 1, 1), date(2099, 12, 31)), st.integers(1, 999_999),
       st.randoms(use_true_random=False))
def test_the_demo_numbers_are_valid_skill_level_numbers(level, issued_on, serial, rng):
    number = skill_level_certificate_number(level, issued_on, serial, random.Random(rng.random()))
    assert problems("skill_level", number, level, issued_on) == []
