"""The port for presentation tokens (V2): signed by this service, verified by it.

The adapter (``voucher_svc/adapters/presentation.py``) signs with the service's Ed25519 key and
draws the QR code; handler tests use the same adapter with a throw-away key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from voucher_svc.domain.presentation import IssuedPresentation, PresentationClaims


class PresentationTokens(Protocol):
    def issue(self, voucher_id: str, holder_lookup: str, now: datetime) -> IssuedPresentation:
        """A new single-use token for the voucher and its holder, with its QR code."""

    def verify(self, token: str) -> PresentationClaims:
        """The token's claims if this service signed it; raises PermissionDenied (V2) otherwise.
        Expiry is not checked here: the handler checks it against the injected clock."""
