"""Opaque, tamper-evident page tokens for keyset pagination of list RPCs (page_size / page_token).

A token carries the key after which the next page starts and the list it belongs to, signed
with a key of this installation (HMAC-SHA256, truncated). A forged, altered or foreign token (one
from another list) is INVALID_ARGUMENT, so what a repository receives is always a key this
service wrote itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from skillpay.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_TOKEN_CHARS = 1024
_MAC_BYTES = 16
# Replaced at start-up by a key derived from the installation's secrets (see configure), so that
# tokens stay valid across restarts and replicas; a process that never configures signs with its own.
_key = secrets.token_bytes(32)


def configure(secret: bytes) -> None:
    global _key
    _key = hmac.new(secret, b"skillpay page tokens", hashlib.sha256).digest()


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument([FieldViolation("page_size", "must not be negative")])
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _mac(payload: bytes) -> bytes:
    return hmac.new(_key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_token(last_key: str, scope: str) -> str:
    payload = f"{scope}\x1f{last_key}".encode()
    return base64.urlsafe_b64encode(_mac(payload) + payload).decode()


def decode_token(token: str, scope: str) -> str | None:
    """The key after which the page starts, or None for the first page."""
    if not token:
        return None
    invalid = InvalidArgument([FieldViolation("page_token", "is not a token this list issued")])
    if len(token) > MAX_TOKEN_CHARS:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise invalid from None
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, _mac(payload)):
        raise invalid
    token_scope, _, last_key = payload.decode().partition("\x1f")
    if token_scope != scope:
        raise invalid
    return last_key


def bound_scope(list_name: str, filters: dict[str, str]) -> str:
    """A scope naming the list and its filters: a token issued under other filters is refused."""
    canonical = "\x1e".join(f"{k}={filters[k]}" for k in sorted(filters))
    return f"{list_name}?{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


def split_page(items: list, limit: int, key, scope: str) -> tuple[list, str]:
    """Repositories return one item more than asked; that extra item tells whether a next page exists."""
    page = items[:limit]
    return page, (encode_token(key(page[-1]), scope) if len(items) > limit else "")
