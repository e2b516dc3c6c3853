"""Unit tests for skillpay/paging.py, skillpay/errors.py and skillpay/cli/sample_data.py."""

from __future__ import annotations

import base64
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from skillpay.cli import sample_data
from skillpay.errors import FieldViolation, InvalidArgument, require
from skillpay.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_token, encode_token, page_size
from skillpay.pii import validate_resident_id

pytestmark = pytest.mark.unit


# ---------------------------------------------------------------------------------------- paging


@given(key=st.text(max_size=200))
def test_page_token_round_trip(key):
    token = encode_token(key, "vouchers")
    assert decode_token(token, "vouchers") == key


def test_page_token_is_opaque_url_safe_text():
    token = encode_token("vch_01/ä+?", "vouchers")
    assert token.isascii()
    assert not set(token) & set("+/?&# ")
    assert "vch_01" not in token


@pytest.mark.parametrize("empty", ["", None])
def test_empty_page_token_means_first_page(empty):
    assert decode_token(empty, "vouchers") is None


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("not a token!!", id="garbage"),
        pytest.param("abc", id="bad-padding"),
        pytest.param(base64.urlsafe_b64encode(b"k2:vch_1").decode(), id="other-version"),
        pytest.param(base64.urlsafe_b64encode(b"vch_1").decode(), id="no-prefix"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfek1:x").decode(), id="not-utf8"),
        pytest.param("k1:vch_1", id="plain-not-base64"),
        pytest.param("令牌", id="non-ascii"),
        pytest.param(base64.urlsafe_b64encode(b"k1:x").decode(), id="the-old-unsigned-format"),
        pytest.param(base64.urlsafe_b64encode(bytes(16) + b"vouchers\x1fvch_1").decode(), id="forged-mac"),
        pytest.param(encode_token("o|1", "occupations"), id="another-lists-token"),
        pytest.param(encode_token("vch_1", "vouchers")[:-4] + "AAAA", id="altered"),
        pytest.param("A" * 5000, id="huge"),
    ],
)
def test_bad_page_token_is_invalid_argument_on_page_token(bad):
    with pytest.raises(InvalidArgument) as info:
        decode_token(bad, "vouchers")
    assert [v.field for v in info.value.violations] == ["page_token"]


@settings(max_examples=300)
@given(token=st.text(min_size=1, max_size=80))
def test_property_any_token_decodes_or_raises_invalid_argument_only(token):
    try:
        result = decode_token(token, "vouchers")
    except InvalidArgument as exc:
        assert exc.violations[0].field == "page_token"
    else:  # only an empty token gets through without a valid signature
        assert result is None and token == ""


@pytest.mark.parametrize(
    ("requested", "expected"),
    [(0, DEFAULT_PAGE_SIZE), (1, 1), (10, 10), (MAX_PAGE_SIZE, MAX_PAGE_SIZE), (MAX_PAGE_SIZE + 1, MAX_PAGE_SIZE),
     (10**9, MAX_PAGE_SIZE)],
)
def test_page_size_defaults_and_clamps(requested, expected):
    assert page_size(requested) == expected


@pytest.mark.parametrize("negative", [-1, -500])
def test_negative_page_size_is_invalid_argument_on_page_size(negative):
    with pytest.raises(InvalidArgument) as info:
        page_size(negative)
    assert [v.field for v in info.value.violations] == ["page_size"]


@given(requested=st.integers(min_value=0, max_value=10**6))
def test_property_page_size_is_always_between_1_and_max(requested):
    assert 1 <= page_size(requested) <= MAX_PAGE_SIZE


# ---------------------------------------------------------------------------------------- errors


def test_invalid_argument_from_a_string_and_field():
    exc = InvalidArgument("is required", field="name")
    assert exc.violations == [FieldViolation("name", "is required")]
    assert str(exc) == "name: is required"


def test_invalid_argument_from_a_string_without_field():
    exc = InvalidArgument("bad request")
    assert exc.violations == [FieldViolation("", "bad request")]
    assert str(exc) == "bad request"


def test_invalid_argument_from_one_violation_and_from_a_list():
    one = InvalidArgument(FieldViolation("level", "out of range"))
    assert one.violations == [FieldViolation("level", "out of range")]
    many = InvalidArgument([FieldViolation("a", "x"), FieldViolation("b", "y")])
    assert [v.field for v in many.violations] == ["a", "b"]
    assert str(many) == "a: x; b: y"


def test_invalid_argument_copies_the_violation_list():
    violations = [FieldViolation("a", "x")]
    exc = InvalidArgument(violations)
    violations.append(FieldViolation("b", "y"))
    assert len(exc.violations) == 1


def test_field_violation_is_immutable():
    v = FieldViolation("a", "x")
    with pytest.raises(AttributeError):
        v.field = "b"  # type: ignore[misc]


def test_require_passes_on_no_violations_and_raises_all_collected():
    require([])
    with pytest.raises(InvalidArgument) as info:
        require([FieldViolation("a", "x"), FieldViolation("b", "y")])
    assert [v.field for v in info.value.violations] == ["a", "b"]


# ---------------------------------------------------------------------------------------- sample data


@given(seed=st.integers(min_value=0, max_value=2**64))
def test_sample_resident_id_is_valid_for_any_seed(seed):
    rid = sample_data.resident_id(random.Random(seed))
    assert len(rid) == 18
    assert ric.is_valid(rid)
    assert validate_resident_id(rid) == rid
    assert rid.startswith("110105")


@given(seed=st.integers(min_value=0, max_value=2**32), region=st.sampled_from(["110101", "110105", "120101"]))
def test_sample_resident_id_uses_the_requested_region(seed, region):
    rid = sample_data.resident_id(random.Random(seed), region=region)
    assert rid.startswith(region)
    assert ric.is_valid(rid)


def test_sample_resident_id_is_deterministic_per_seed_and_varies_between_seeds():
    assert sample_data.resident_id(random.Random(7)) == sample_data.resident_id(random.Random(7))
    assert len({sample_data.resident_id(random.Random(s)) for s in range(50)}) > 40


def test_sample_resident_id_without_rng_is_valid():
    for _ in range(20):
        assert ric.is_valid(sample_data.resident_id())


@given(seed=st.integers(min_value=0, max_value=2**64))
def test_sample_credit_code_is_a_valid_uscc_for_any_seed(seed):
    code = sample_data.credit_code(random.Random(seed))
    assert len(code) == 18
    assert uscc.is_valid(code)
    assert uscc.validate(code) == code


def test_sample_credit_code_without_rng_is_valid():
    for _ in range(20):
        assert uscc.is_valid(sample_data.credit_code())


@given(seed=st.integers(min_value=0, max_value=2**64))
def test_sample_person_name_is_two_or_three_chinese_characters(seed):
    name = sample_data.person_name(random.Random(seed))
    assert 2 <= len(name) <= 3
    assert all("\u4e00" <= ch <= "\u9fff" for ch in name)
    assert sample_data.person_name(random.Random(seed)) == name


def test_split_page_gives_a_token_only_when_more_items_exist():
    from skillpay.paging import decode_token, split_page

    page, token = split_page(["a", "b", "c"], 2, key=str, scope="s")
    assert page == ["a", "b"] and decode_token(token, "s") == "b"
    assert split_page(["a", "b"], 2, key=str, scope="s") == (["a", "b"], "")
    assert split_page([], 2, key=str, scope="s") == ([], "")


def test_tokens_survive_a_restart_when_the_key_is_configured():
    from skillpay import paging

    paging.configure(b"installation secret")
    token = paging.encode_token("vch_9", "vouchers")
    paging.configure(b"installation secret")  # a new process of the same installation
    assert paging.decode_token(token, "vouchers") == "vch_9"
    paging.configure(b"another installation")
    with pytest.raises(InvalidArgument):
        paging.decode_token(token, "vouchers")
