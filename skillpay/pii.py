"""Personal data: resident ID validation, masking, encryption at rest and keyed look-up hashes.

Rule V1: a resident ID is the 18-digit GB 11643 number with an ISO 7064 MOD 11-2 check digit,
validated with python-stdnum. IDs are stored sealed (AES-GCM) next to a keyed hash (HMAC-SHA256)
used for look-ups, and shown only masked (C4: first 6 + 8 asterisks + last 4).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from stdnum.cn import ric

from skillpay.errors import FieldViolation, InvalidArgument


# Province-level prefixes of GB/T 2260 (the first two digits of every resident ID).
_PROVINCES = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
                        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
                        "65", "71", "81", "82"})


EARLIEST_BIRTH = date(1900, 1, 1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
_CANONICAL_SHAPE = re.compile(r"[0-9]{17}[0-9Xx]")


def validate_resident_id(value: str, field: str = "resident_id", today: date | None = None) -> str:
    """Return the canonical ID (upper-case X) or raise InvalidArgument. Never echoes the ID.

    Length, digits, check digit (ISO 7064 MOD 11-2) and birth date come from python-stdnum.
    The region is checked by province only: stdnum also requires the county code to have
    existed in the birth year, but an ID keeps the code in force when it was *assigned*, so
    that check rejects real people (e.g. Nanyang 4113xx, born before 1994).
    """
    def bad(reason: str) -> InvalidArgument:
        return InvalidArgument([FieldViolation(field, f"not a valid resident ID number ({reason})")])

    # An ID already in canonical shape skips stdnum's generic clean-up (a batch validates millions).
    compact = value.upper() if value and _CANONICAL_SHAPE.fullmatch(value) else ric.compact(value or "").upper()
    if len(compact) != 18:
        raise bad("it must have 18 characters")
    if not compact[:-1].isdigit() or not (compact[-1].isdigit() or compact[-1] == "X"):
        raise bad("17 digits and a check digit or X are expected")
    if compact[-1] != ric.calc_check_digit(compact):
        raise bad("the check digit is wrong")
    try:
        # What ric.get_birth_date does, without compacting the (already compact) ID once more.
        born = date(int(compact[6:10]), int(compact[10:12]), int(compact[12:14]))
    except ValueError:
        raise bad("the birth date is not a real date") from None
    if not EARLIEST_BIRTH <= born <= (today or datetime.now(SHANGHAI).date()):
        raise bad("the birth date is in the future or before 1900")
    if compact[:2] not in _PROVINCES:
        raise bad("the region code is unknown")
    return compact


def mask_resident_id(value: str) -> str:
    """110105199001011234 -> 110105********1234 (C4). Anything too short to mask is hidden whole."""
    if len(value) < 10:
        return "*" * 8
    return value[:6] + "*" * 8 + value[-4:]


def mask_name(name: str) -> str:
    """Keep the first and last character (C4): 张三 -> 张*, 李小明 -> 李*明, 欧阳小明 -> 欧**明."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def lookup_hash(lookup_key: bytes, plaintext: str) -> str:
    """The keyed hash (HMAC-SHA256) a resident ID is looked up by; the ID itself is never stored clear."""
    return hmac.new(lookup_key, plaintext.encode(), hashlib.sha256).hexdigest()


def person_subject(resident_id: str, lookup_key: bytes) -> str:
    """The subject of a PERSON actor's token: the look-up hash of the canonical resident ID.

    Whoever signs a worker's token (the gateway after its own login, the demo, the tests) names
    the worker this way, so a service knows the person without the ID number travelling.
    Raises InvalidArgument for an ID that is not valid (V1).
    """
    return lookup_hash(lookup_key, validate_resident_id(resident_id))


class PiiVault:
    """Seals personal identifiers with one key and hashes them for look-up with another."""

    _AAD = b"skillpay.pii.v1"

    def __init__(self, seal_key: bytes, lookup_key: bytes):
        if len(seal_key) != 32 or len(lookup_key) != 32:
            raise ValueError("PII keys must be 32 bytes")
        self._aead = AESGCM(seal_key)
        self._lookup_hmac = hmac.new(lookup_key, digestmod=hashlib.sha256)  # keyed once, copied per ID

    def seal(self, plaintext: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), self._AAD)

    def unseal(self, sealed: bytes) -> str:
        return self._aead.decrypt(sealed[:12], sealed[12:], self._AAD).decode()

    def lookup_hash(self, plaintext: str) -> str:
        """``lookup_hash(lookup_key, plaintext)``, without keying HMAC anew for each of a batch's IDs."""
        keyed = self._lookup_hmac.copy()
        keyed.update(plaintext.encode())
        return keyed.hexdigest()

    @classmethod
    def from_settings(cls, settings) -> "PiiVault":
        return cls(settings.key_bytes("pii"), settings.key_bytes("lookup"))
