"""Non-transferable presentation (V2): what a holder's presentation token says, and when it holds.

The holder's app gets a short-lived signed token for one voucher (single use); the institution
enrols the voucher with it. The signature is checked by the token adapter; this module checks
what the verified claims say against the voucher and the clock. Each refusal names V2 and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from skillpay.errors import FailedPrecondition, PermissionDenied, PreconditionViolation
from voucher_svc.domain.model import Voucher, VoucherState

DEFAULT_TTL_S = 300  # POLICY V2: short-lived; VOUCHER_PRESENTATION_TTL_S configures it


@dataclass(frozen=True)
class PresentationClaims:
    """A presentation token's content once its signature verified."""

    jti: str  # single use: the id recorded when the token is used
    voucher_id: str
    holder_lookup: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class IssuedPresentation:
    """A token handed to the holder's app, with its QR code (PNG)."""

    token: str
    voucher_id: str
    expires_at: datetime
    qr_png: bytes


def refused(reason: str) -> FailedPrecondition:
    return FailedPrecondition(violations=[PreconditionViolation("V2", "presentation_token", reason)])


def forged() -> PermissionDenied:
    return PermissionDenied("V2: the presentation token is not one this service signed (forged or damaged)")


def check_presentable(voucher: Voucher, now: datetime) -> None:
    """V2 with V4/V5: a token is only worth having for a voucher that can still be enrolled."""
    if voucher.state is not VoucherState.ISSUED:
        raise refused(f"券状态为{voucher.state.value}，不能出示 / the voucher is {voucher.state.value}; only an issued "
                      "voucher is presented for enrolment")
    if now >= voucher.valid_until:
        raise FailedPrecondition(f"voucher expired at {voucher.valid_until.isoformat()} (V5)")


def check_presentation(claims: PresentationClaims, voucher_id: str, holder_lookup: str, now: datetime) -> None:
    """V2: the token is for this voucher, of its holder, and not expired (expired at exactly ``exp``)."""
    if claims.voucher_id != voucher_id:
        raise PermissionDenied("V2: the presentation token is for another voucher")
    if claims.holder_lookup != holder_lookup:
        raise PermissionDenied("V2: the presentation token is of another person than the voucher's holder")
    if now >= claims.expires_at:
        raise refused(f"出示凭证已过期 / the presentation token expired at {claims.expires_at.isoformat()}")


def reused() -> FailedPrecondition:
    return refused("出示凭证已使用 / the presentation token was already used; the holder presents a new one")
