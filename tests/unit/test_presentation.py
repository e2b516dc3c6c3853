"""V2: presentation tokens, the adapter (signature, QR code) and the domain checks (voucher, holder, expiry)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from skillpay.actors import ActorKind
from skillpay.auth import TokenIssuer, TokenVerifier
from skillpay.errors import FailedPrecondition, PermissionDenied, Unauthenticated
from voucher_svc.adapters.presentation import (
    QR_BORDER,
    QR_BOX_SIZE,
    SignedPresentationTokens,
    qr_png,
)
from voucher_svc.domain.presentation import check_presentation

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
HOLDER = "a" * 64
OTHER_HOLDER = "b" * 64
KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def tokens():
    return SignedPresentationTokens(KEY, ttl_s=300)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.policy("V2")
def test_a_token_carries_voucher_holder_and_a_five_minute_life(tokens):
    issued = tokens.issue("vch_1", HOLDER, NOW)
    claims = tokens.verify(issued.token)
    assert (claims.voucher_id, claims.holder_lookup, claims.issued_at, claims.expires_at) == (
        "vch_1", HOLDER, NOW.replace(microsecond=0), NOW + timedelta(seconds=300))
    assert issued.expires_at == claims.expires_at and issued.voucher_id == "vch_1"
    assert claims.jti != tokens.verify(tokens.issue("vch_1", HOLDER, NOW).token).jti  # every token its own id


@pytest.mark.policy("V2")
def test_the_qr_code_is_a_png_of_the_token_at_its_declared_size(tokens):
    issued = tokens.issue("vch_1", HOLDER, NOW)
    width, height = png_size(issued.qr_png)
    assert width == height
    modules = width // QR_BOX_SIZE - 2 * QR_BORDER
    assert width % QR_BOX_SIZE == 0 and (modules - 17) % 4 == 0 and 1 <= (modules - 17) // 4 <= 40  # a QR version
    assert issued.qr_png == qr_png(issued.token)  # it encodes the token and nothing else


@pytest.mark.policy("V2")
def test_expired_at_exactly_exp_and_valid_a_second_before(tokens):
    claims = tokens.verify(tokens.issue("vch_1", HOLDER, NOW).token)
    check_presentation(claims, "vch_1", HOLDER, NOW + timedelta(seconds=299))
    for late in (timedelta(seconds=300), timedelta(days=1)):
        with pytest.raises(FailedPrecondition) as err:
            check_presentation(claims, "vch_1", HOLDER, NOW + late)
        [violation] = err.value.violations
        assert (violation.type, violation.subject) == ("V2", "presentation_token") and "expired" in violation.description


@pytest.mark.policy("V2")
def test_a_token_of_another_voucher_or_another_holder_is_refused(tokens):
    claims = tokens.verify(tokens.issue("vch_1", HOLDER, NOW).token)
    with pytest.raises(PermissionDenied, match="V2.*another voucher"):
        check_presentation(claims, "vch_2", HOLDER, NOW)
    with pytest.raises(PermissionDenied, match="V2.*another person"):
        check_presentation(claims, "vch_1", OTHER_HOLDER, NOW)


@pytest.mark.policy("V2")
def test_a_forged_or_damaged_token_is_refused(tokens):
    genuine = tokens.issue("vch_1", HOLDER, NOW).token
    forger = SignedPresentationTokens(Ed25519PrivateKey.generate())
    header, payload, signature = genuine.split(".")
    other_payload = forger.issue("vch_2", HOLDER, NOW).token.split(".")[1]
    for bad in (forger.issue("vch_1", HOLDER, NOW).token,  # signed with another key
                f"{header}.{other_payload}.{signature}",  # another voucher under the genuine signature
                f"{header}.{payload}.{signature[:-4]}AAAA",  # a damaged signature
                "not.a.token"):
        with pytest.raises(PermissionDenied, match="V2"):
            tokens.verify(bad)


@pytest.mark.policy("V2")
def test_actor_tokens_and_presentation_tokens_signed_with_the_one_key_never_pass_for_each_other(tokens):
    actor_token = TokenIssuer(KEY).issue(ActorKind.PERSON, HOLDER)
    with pytest.raises(PermissionDenied):
        tokens.verify(actor_token)
    presentation = tokens.issue("vch_1", HOLDER, NOW).token
    with pytest.raises(Unauthenticated):
        TokenVerifier(KEY.public_key(), clock=lambda: NOW.timestamp()).verify(presentation)


@pytest.mark.policy("V2")
def test_a_token_signed_with_the_key_but_without_the_presentation_type_or_shape_is_refused(tokens):
    claims = {"iss": "skillpay.voucher", "aud": "skillpay.voucher.presentation", "jti": "j1", "vid": "vch_1",
              "hld": HOLDER, "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 300}
    with pytest.raises(PermissionDenied):  # no "vp+jwt" type header
        tokens.verify(jwt.encode(claims, KEY, algorithm="EdDSA"))
    for broken in ({"hld": "not a look-up hash"}, {"vid": ["vch_1"]}, {"exp": "soon"}):
        with pytest.raises(PermissionDenied):
            tokens.verify(jwt.encode(claims | broken, KEY, algorithm="EdDSA", headers={"typ": "vp+jwt"}))
    assert tokens.verify(jwt.encode(claims, KEY, algorithm="EdDSA", headers={"typ": "vp+jwt"})).jti == "j1"


def test_a_token_must_live_a_positive_time():
    with pytest.raises(ValueError):
        SignedPresentationTokens(KEY, ttl_s=0)
