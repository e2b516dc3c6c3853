"""What the voucher service needs to know about funds: the port its handlers talk to.

Every voucher records the fund source it will be paid from (V4), and a payout from a fund the
ledger does not know can never be made (F1: funds are opened by finance in the ledger). So a
batch's fund source is checked against the ledger when vouchers are issued. The adapter in
``voucher_svc/adapters/ledger_funds.py`` asks the ledger over gRPC; tests use an in-memory one.
"""

from __future__ import annotations

from typing import Protocol


class FundDirectory(Protocol):
    async def is_known(self, fund_code: str) -> bool:
        """Whether the ledger has opened this fund. Raises ``skillpay.errors.Unavailable`` when
        the ledger cannot be asked now (the caller may retry); never answers False for that."""
