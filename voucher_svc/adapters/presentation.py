"""Presentation tokens (V2) as compact JWTs signed with the service's Ed25519 key, and their QR codes.

The key is the one voucher_svc already holds to act as itself (``SKILLPAY_AUTH_PRIVATE_KEY``, or
the data directory's key pair). Actor tokens signed with it can never pass for presentation
tokens, nor the other way round: a presentation token has its own issuer, audience and ``typ``
header, and ``skillpay.auth.TokenVerifier`` accepts only the actor audience. Every replica holds
the same key, so any of them verifies a token another issued; single use is decided by the
database (``used_presentation_tokens``), not by memory.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime

import jwt
import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from qrcode.image.pure import PyPNGImage

from voucher_svc.domain.presentation import (
    DEFAULT_TTL_S,
    IssuedPresentation,
    PresentationClaims,
    forged,
)

ALGORITHM = "EdDSA"
ISSUER = "skillpay.voucher"
AUDIENCE = "skillpay.voucher.presentation"
TOKEN_TYPE = "vp+jwt"
QR_BOX_SIZE = 4  # pixels per module: about 300 px square for a token, enough for a phone camera
QR_BORDER = 4  # modules of quiet zone (the QR standard's minimum)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")
_LOOKUP = re.compile(r"[0-9a-f]{64}")


def qr_png(text: str, box_size: int = QR_BOX_SIZE, border: int = QR_BORDER) -> bytes:
    """``text`` as a QR code (error correction M), a black-and-white PNG."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border,
                         image_factory=PyPNGImage)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()


class SignedPresentationTokens:
    def __init__(self, private_key: Ed25519PrivateKey, ttl_s: int = DEFAULT_TTL_S):
        if ttl_s <= 0:
            raise ValueError("a presentation token must live a positive number of seconds")
        self._key = private_key
        self._public = private_key.public_key()
        self._ttl = ttl_s

    def issue(self, voucher_id: str, holder_lookup: str, now: datetime) -> IssuedPresentation:
        issued = int(now.timestamp())
        expires = issued + self._ttl
        claims = {"iss": ISSUER, "aud": AUDIENCE, "jti": uuid.uuid4().hex, "vid": voucher_id, "hld": holder_lookup,
                  "iat": issued, "exp": expires}
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE})
        return IssuedPresentation(token, voucher_id, datetime.fromtimestamp(expires, UTC), qr_png(token))

    def verify(self, token: str) -> PresentationClaims:
        try:
            if jwt.get_unverified_header(token).get("typ") != TOKEN_TYPE:
                raise forged()
            # Expiry is the handler's to check, against the injected clock.
            claims = jwt.decode(token, self._public, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "iat", "jti"], "verify_exp": False,
                                         "verify_iat": False, "verify_nbf": False})
            jti, voucher_id, holder = claims["jti"], claims["vid"], claims["hld"]
            issued, expires = claims["iat"], claims["exp"]
        except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
            raise forged() from None
        if not (isinstance(jti, str) and _ID.fullmatch(jti) and isinstance(voucher_id, str)
                and _ID.fullmatch(voucher_id) and isinstance(holder, str) and _LOOKUP.fullmatch(holder)
                and all(isinstance(t, int) and not isinstance(t, bool) and 0 < t < 253402300800
                        for t in (issued, expires))):
            raise forged()  # signed by us but not shaped like ours: never trust it
        return PresentationClaims(jti, voucher_id, holder, datetime.fromtimestamp(issued, UTC),
                                  datetime.fromtimestamp(expires, UTC))
