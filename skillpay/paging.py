"""Opaque page tokens for keyset pagination of list RPCs (page_size / page_token)."""

from __future__ import annotations

import base64
import binascii

from skillpay.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument([FieldViolation("page_size", "must not be negative")])
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(last_key: str) -> str:
    return base64.urlsafe_b64encode(f"k1:{last_key}".encode()).decode()


def decode_token(token: str) -> str | None:
    """The key after which the page starts, or None for the first page."""
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("k1:"):
        raise InvalidArgument([FieldViolation("page_token", "is not a token this service issued")])
    return text[3:]


def split_page(items: list, limit: int, key) -> tuple[list, str]:
    """Repositories return one item more than asked; that extra item tells whether a next page exists."""
    page = items[:limit]
    return page, (encode_token(key(page[-1])) if len(items) > limit else "")
