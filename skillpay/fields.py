"""Every kind of field a caller can send, declared once: its maximum size and its characters.

The domain checks values against these kinds, commands name the kind of each of their fields,
and the tables size their columns from the same numbers, so a value that passes can always be
stored and a value that cannot be stored never passes. Pure Python: domain code imports it.

Errors name the field and the rule, never the value (it may be 100 KB long, or personal data).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from skillpay.errors import FieldViolation

# Characters that let a value pretend to be something else on screen or in a log line.
_INVISIBLE_OR_REORDERING = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")


def hidden_characters(value: str) -> bool:
    if value.isprintable():
        # Fast path: printable means no Cc, Cf (which holds every invisible and reordering
        # character above), Cs, Co or Cn character; batches check millions of values.
        return False
    return any(ch in _INVISIBLE_OR_REORDERING or unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn")
               for ch in value)


@dataclass(frozen=True)
class Text:
    """A string field: at most ``max_len`` characters; ``pattern`` (if any) must match all of it."""

    max_len: int
    pattern: re.Pattern | None = None
    rule: str = ""  # says what the pattern allows, for the error message

    def check(self, value: object, field: str, violations: list[FieldViolation], required: bool = True) -> str:
        """The value stripped of surrounding white space; appends a violation when it is not acceptable."""
        if not isinstance(value, str):
            violations.append(FieldViolation(field, "must be text"))
            return ""
        if len(value) > self.max_len:
            violations.append(FieldViolation(field, f"must be at most {self.max_len} characters"))
            return ""
        if hidden_characters(value):  # before stripping: a trailing newline is not a space
            violations.append(FieldViolation(field, "must not contain control, invisible or reordering characters"))
            return ""
        value = value.strip()
        if not value:
            if required:
                violations.append(FieldViolation(field, "is required"))
            return ""
        if self.pattern is not None and not self.pattern.fullmatch(value):
            violations.append(FieldViolation(field, self.rule or "has characters that are not allowed"))
        return value


@dataclass(frozen=True)
class Money:
    """An amount in integer fen, from 1 fen up to a declared maximum far below int64."""

    max_fen: int

    def check(self, value: object, field: str, violations: list[FieldViolation]) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            violations.append(FieldViolation(field, "must be a whole number of fen"))
            return 0
        if not 0 < value <= self.max_fen:
            violations.append(FieldViolation(field, f"must be between 1 and {self.max_fen} fen"))
            return 0
        return value


@dataclass(frozen=True)
class Day:
    """A calendar day within declared bounds: far-off years overflow once turned into instants."""

    earliest: date
    latest: date

    def check(self, value: object, field: str, violations: list[FieldViolation]) -> date | None:
        if not isinstance(value, date) or isinstance(value, datetime):
            violations.append(FieldViolation(field, "must be a calendar date"))
            return None
        if not self.earliest <= value <= self.latest:
            violations.append(FieldViolation(field, f"must be between {self.earliest} and {self.latest}"))
            return None
        return value


@dataclass(frozen=True)
class Count:
    """A whole number from 0 up to a declared maximum (hours, days, ...)."""

    max_value: int

    def check(self, value: object, field: str, violations: list[FieldViolation]) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            violations.append(FieldViolation(field, "must be a whole number"))
            return 0
        if not 0 <= value <= self.max_value:
            violations.append(FieldViolation(field, f"must be between 0 and {self.max_value}"))
            return 0
        return value


_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]*")
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")

# People's and institutions' names, addresses, free text.
PERSON_NAME = Text(64)
ORGANISATION_NAME = Text(64)
FUND_NAME = Text(100)
ADDRESS = Text(200)
MEMO = Text(256)
# Codes and references.
OCCUPATION_CODE = Text(32, _CODE, "must be letters, digits, '.' or '-' (e.g. 6-31-01-03)")
FUND_CODE = Text(64, re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*"), "must be letters, digits, '_', '.' or '-'")
BATCH_ID = Text(64, _IDENTIFIER, "must be letters, digits, '_', '.', ':' or '-'")
CERTIFICATE_NUMBER = Text(64, _IDENTIFIER, "must be letters, digits, '_', '.', ':' or '-'")
ENTITY_ID = Text(64, _IDENTIFIER, "is not an id this service issues")
# A signed presentation token (V2): a compact JWT, a few hundred base64url characters.
PRESENTATION_TOKEN = Text(2048, re.compile(r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"),
                          "is not a presentation token")
# The ledger's transfer engine (ledger_svc.domain.transfers): a transfer's client-supplied id, an
# account id (fund code + ":" + role), the client's reference kept with a transfer.
TRANSFER_ID = Text(64, _IDENTIFIER, "must be letters, digits, '_', '.', ':' or '-'")
LEDGER_ACCOUNT_ID = Text(80, _IDENTIFIER, "must be letters, digits, '_', '.', ':' or '-'")
TRANSFER_USER_DATA = Text(100)
# An id another service issued and this one stores (new_id / derived_id: at most 36 characters).
REFERENCE_ID = Text(40, _IDENTIFIER, "is not an id SkillPay issues")
# What travels between services about a person instead of the ID number (skillpay.pii).
# Masked as skillpay.pii.mask_resident_id does; a clear ID number never passes for a masked one.
MASKED_RESIDENT_ID = Text(18, re.compile(r"([0-9A-Za-z]{6}\*{8}[0-9A-Za-z]{4})|\*{8}"),
                          "must be a masked ID (first 6, 8 '*', last 4)")
LOOKUP_HASH = Text(64, re.compile(r"[0-9a-f]{64}"), "must be 64 lower-case hex digits")
MAX_SEALED_BYTES = 512  # a sealed ID number is about 50 bytes
RESIDENT_ID = Text(32)  # checked further by skillpay.pii.validate_resident_id (GB 11643)
UNIFIED_CREDIT_CODE = Text(32)  # checked further by python-stdnum cn.uscc
# An administrative division (GB/T 2260, 6 digits); empty means national.
REGION_CODE = Text(6, re.compile(r"[1-9][0-9]{5}"), "must be a 6-digit administrative division code")
# Where an institution is paid by bank transfer: account number, holder's name, the bank's
# 12-digit CNAPS code (联行号).
BANK_ACCOUNT_NUMBER = Text(32, re.compile(r"[0-9]{6,32}"), "must be 6-32 digits")
BANK_ACCOUNT_NAME = Text(64)
BANK_CODE = Text(12, re.compile(r"[0-9]{12}"), "must be the bank's 12-digit CNAPS code")
# Why an institution was suspended or removed, for the record.
STATUS_REASON = Text(200)
# A search text matched literally against names.
NAME_SEARCH = Text(64)
# An occupation code prefix to list by (e.g. "6-31").
OCCUPATION_CODE_PREFIX = Text(32, re.compile(r"[0-9A-Za-z.\-]+"), "must be letters, digits, '.' or '-'")
# A training programme's class hours (P3-P5 compare against it).
CLASS_HOURS = Count(5_000)

# A subsidy standard: far above any real one (the highest are a few thousand yuan).
SUBSIDY_FEN = Money(10_000_000)  # 100,000 yuan
# One budget allocation: a province's whole year, with room to spare.
ALLOCATION_FEN = Money(10**14)  # 1 trillion yuan
# No account may ever hold more: sums of bounded amounts stay far from int64 (9.2e18).
MAX_BALANCE_FEN = 10**16

# A day the ledger's books can be asked about (statements, reconciliation).
BOOKING_DAY = Day(date(1990, 1, 1), date(2199, 12, 31))
