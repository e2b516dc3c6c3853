"""Unit tests for skillpay/pii.py: resident-ID validation (V1), masking (C4) and the PII vault."""

from __future__ import annotations

import random
import traceback

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from skillpay.cli import sample_data
from skillpay.errors import InvalidArgument
from skillpay.pii import PiiVault, mask_name, mask_resident_id, validate_resident_id

pytestmark = pytest.mark.unit

SEAL_KEY = bytes(range(32))
LOOKUP_KEY = bytes(range(32, 64))

# A valid ID (checksum computed by stdnum) and one whose check digit is X.
VALID_ID = sample_data.resident_id(random.Random(1))
VALID_ID_X = "11010519900101007X"


def _with_check_digit(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def _wrong_check_digit(number: str) -> str:
    """The same 17 digits with a check character that is not the right one."""
    wrong = next(c for c in "0123456789X" if c != number[-1])
    return number[:-1] + wrong


def _all_error_text(exc: InvalidArgument) -> str:
    """Everything a log line or an API error could show of the exception."""
    parts = [str(exc), repr(exc), repr(exc.args)]
    parts += [v.field + " " + v.description for v in exc.violations]
    parts.append("".join(traceback.format_exception(exc)))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------- V1


@pytest.mark.policy("V1")
def test_V1_valid_resident_id_is_accepted_and_returned_canonical():
    assert validate_resident_id(VALID_ID) == VALID_ID
    assert ric.is_valid(VALID_ID)


@pytest.mark.policy("V1")
def test_V1_check_digit_x_is_accepted_and_upper_cased():
    assert ric.is_valid(VALID_ID_X)
    assert validate_resident_id(VALID_ID_X.lower()) == VALID_ID_X
    assert validate_resident_id(VALID_ID_X) == VALID_ID_X


@pytest.mark.policy("V1")
def test_V1_surrounding_whitespace_is_removed():
    assert validate_resident_id(f"  {VALID_ID} ") == VALID_ID


@pytest.mark.policy("V1")
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(_wrong_check_digit(VALID_ID), id="wrong-check-digit"),
        pytest.param(VALID_ID[:17], id="17-digits"),
        pytest.param(VALID_ID + "1", id="19-digits"),
        pytest.param("110105900101123", id="15-digit-legacy"),
        pytest.param("", id="empty"),
        pytest.param("1101051990010A" + "1234", id="letter-in-body"),
        pytest.param(_with_check_digit("11010519991340582"), id="impossible-birth-date"),
        pytest.param(_with_check_digit("99999919900101123"), id="unknown-region"),
    ],
)
def test_V1_invalid_resident_id_is_rejected_on_the_named_field(bad):
    with pytest.raises(InvalidArgument) as info:
        validate_resident_id(bad, field="holder.resident_id")
    assert [v.field for v in info.value.violations] == ["holder.resident_id"]


@pytest.mark.policy("V1")
@pytest.mark.parametrize(
    "body17",
    [
        pytest.param("41130219900101123", id="nanyang-wancheng-born-1990"),
        pytest.param("50010119900101123", id="chongqing-wanzhou-born-1990"),
        pytest.param("11011219900101123", id="beijing-tongzhou-born-1990"),
    ],
)
def test_V1_id_whose_region_code_is_newer_than_the_birth_year_is_accepted(body17):
    number = _with_check_digit(body17)
    assert validate_resident_id(number) == number


@pytest.mark.policy("V1")
def test_V1_default_field_name_is_resident_id():
    with pytest.raises(InvalidArgument) as info:
        validate_resident_id(_wrong_check_digit(VALID_ID))
    assert info.value.violations[0].field == "resident_id"


@pytest.mark.policy("V1")
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(_wrong_check_digit(VALID_ID), id="wrong-check-digit"),
        pytest.param(VALID_ID[:17], id="too-short"),
        pytest.param(VALID_ID + "7", id="too-long"),
        pytest.param(_with_check_digit("11010519991340582"), id="bad-date"),
        pytest.param(_with_check_digit("99999919900101123"), id="bad-region"),
    ],
)
def test_V1_error_never_contains_the_id_number(bad):
    with pytest.raises(InvalidArgument) as info:
        validate_resident_id(bad)
    text = _all_error_text(info.value)
    assert bad not in text
    assert bad[:17] not in text  # not even the body without its check digit
    assert info.value.__cause__ is None


@pytest.mark.policy("V1")
@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet="0123456789", min_size=17, max_size=17), pick=st.integers(0, 9))
def test_V1_property_wrong_check_digit_is_rejected_without_echoing_the_number(body, pick):
    right = ric.calc_check_digit(body + "0")
    wrong = [c for c in "0123456789X" if c != right][pick]
    number = body + wrong
    with pytest.raises(InvalidArgument) as info:
        validate_resident_id(number)
    assert number not in _all_error_text(info.value)


# ---------------------------------------------------------------------------------------- C4


@pytest.mark.policy("C4")
def test_C4_resident_id_shows_first_6_eight_asterisks_last_4():
    assert mask_resident_id("110105199001011234") == "110105********1234"


@pytest.mark.policy("C4")
@given(seed=st.integers(0, 2**32))
def test_C4_masked_id_hides_the_birth_date_and_sequence(seed):
    rid = sample_data.resident_id(random.Random(seed))
    masked = mask_resident_id(rid)
    assert len(masked) == 18
    assert masked[:6] == rid[:6] and masked[-4:] == rid[-4:]
    assert masked[6:14] == "*" * 8
    assert rid[6:14] not in masked[6:]


@pytest.mark.policy("C4")
@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("李小明", "李*明"), ("欧阳小明", "欧**明"), ("司马相如", "司**如"), ("王", "王")],
)
def test_C4_name_keeps_first_and_last_character(name, masked):
    assert mask_name(name) == masked


@pytest.mark.policy("C4")
@given(name=st.text(alphabet="王李张欧阳小明相如伟芳", min_size=3, max_size=8))
def test_C4_property_masked_name_has_same_length_and_only_inner_asterisks(name):
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked[0] == name[0] and masked[-1] == name[-1]
    assert masked[1:-1] == "*" * (len(name) - 2)


# ---------------------------------------------------------------------------------------- vault


def _vault(seal_key: bytes = SEAL_KEY, lookup_key: bytes = LOOKUP_KEY) -> PiiVault:
    return PiiVault(seal_key, lookup_key)


@pytest.mark.policy("V1")
@given(plaintext=st.text(max_size=64))
def test_V1_vault_seal_unseal_round_trip(plaintext):
    vault = _vault()
    assert vault.unseal(vault.seal(plaintext)) == plaintext


def test_vault_ciphertexts_differ_per_call_and_do_not_contain_plaintext():
    vault = _vault()
    a, b = vault.seal(VALID_ID), vault.seal(VALID_ID)
    assert a != b
    assert a[:12] != b[:12]  # fresh nonce each time
    assert VALID_ID.encode() not in a and VALID_ID.encode() not in b
    assert vault.unseal(a) == vault.unseal(b) == VALID_ID


def test_vault_rejects_tampered_ciphertext():
    vault = _vault()
    sealed = bytearray(vault.seal(VALID_ID))
    for index in (0, 12, len(sealed) - 1):  # nonce, ciphertext body, tag
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        with pytest.raises(InvalidTag):
            vault.unseal(bytes(tampered))


def test_vault_rejects_truncated_ciphertext():
    vault = _vault()
    sealed = vault.seal(VALID_ID)
    with pytest.raises(InvalidTag):
        vault.unseal(sealed[:-1])


def test_vault_unseal_with_another_seal_key_fails():
    sealed = _vault().seal(VALID_ID)
    with pytest.raises(InvalidTag):
        _vault(seal_key=bytes(32)).unseal(sealed)


def test_vault_lookup_hash_is_stable_and_independent_of_seal_key():
    h1 = _vault().lookup_hash(VALID_ID)
    h2 = _vault(seal_key=bytes(32)).lookup_hash(VALID_ID)
    assert h1 == h2 == _vault().lookup_hash(VALID_ID)
    assert len(h1) == 64 and int(h1, 16) >= 0  # hex SHA-256
    assert VALID_ID not in h1


def test_vault_lookup_hash_depends_on_the_lookup_key_and_the_input():
    assert _vault().lookup_hash(VALID_ID) != _vault(lookup_key=bytes(32)).lookup_hash(VALID_ID)
    assert _vault().lookup_hash(VALID_ID) != _vault().lookup_hash(VALID_ID_X)


@pytest.mark.parametrize(
    ("seal_key", "lookup_key"),
    [(bytes(16), LOOKUP_KEY), (SEAL_KEY, bytes(31)), (bytes(33), bytes(32)), (b"", b"")],
)
def test_vault_requires_32_byte_keys(seal_key, lookup_key):
    with pytest.raises(ValueError, match="32 bytes"):
        PiiVault(seal_key, lookup_key)


def test_vault_from_settings_uses_the_pii_and_lookup_keys():
    class FakeSettings:
        def key_bytes(self, purpose: str) -> bytes:
            return {"pii": SEAL_KEY, "lookup": LOOKUP_KEY}[purpose]

    vault = PiiVault.from_settings(FakeSettings())
    assert vault.lookup_hash(VALID_ID) == _vault().lookup_hash(VALID_ID)
    assert _vault().unseal(vault.seal(VALID_ID)) == VALID_ID


@pytest.mark.policy("C4")
def test_C4_too_short_to_mask_is_hidden_whole():
    from skillpay.pii import mask_resident_id

    assert mask_resident_id("1234567") == "********"


@pytest.mark.policy("V1")
def test_V1_a_resident_id_whose_birth_date_is_in_the_future_is_refused():
    from datetime import date

    from stdnum.cn import ric

    born_later = "11010520300101001"  # born 2030-01-01
    rid = born_later + ric.calc_check_digit(born_later + "0")  # the digit is computed from the first 17
    assert validate_resident_id(rid, today=date(2030, 1, 1)) == rid  # born today is fine
    with pytest.raises(InvalidArgument) as err:
        validate_resident_id(rid, today=date(2029, 12, 31))
    assert [v.field for v in err.value.violations] == ["resident_id"]
    assert rid not in str(err.value)
