"""What can be asked of the claim service: plain data, each carrying its actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from claim_svc.domain.model import Payee
from skillpay.messagebus import Command


@dataclass(frozen=True, kw_only=True)
class CreateVoucherClaim(Command):
    """From voucher_svc's voucher.redeemed: claim the voucher's value for its holder."""

    voucher_id: str
    payee: Payee
    institution_id: str
    occupation_code: str
    level: int
    amount_fen: int
    fund_source: str
    redeemed_at: datetime | None
    # The voucher's redemption (its claim line's cause); "" from older events: the first, the voucher id.
    redemption_id: str = ""
    # A2-A4: how the amount came about ("" / 0 from producers older than valuation).
    valuation_rule: str = ""
    rate_percent: int = 0
    standard_fen: int = 0


@dataclass(frozen=True, kw_only=True)
class AddTopUpLine(Command):
    """From voucher_svc's voucher.topped_up (A5): one top-up line on the voucher's claim."""

    top_up_id: str
    voucher_id: str
    value_fen: int  # what the voucher's subsidy line pays
    top_up_fen: int
    standard_fen: int
    topped_up_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class WithdrawClaimLine(Command):
    """From voucher_svc's voucher.redemption_rolled_back (or voucher.revoked before payment): the
    redemption's claim line is never paid (again)."""

    voucher_id: str
    redemption_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RecordPayoutSettled(Command):
    """From the ledger's payment.settled."""

    payout_request_id: str
    claim_id: str
    settled_at: datetime


@dataclass(frozen=True, kw_only=True)
class RecordPayoutFailed(Command):
    """From the ledger's payment.failed."""

    payout_request_id: str
    claim_id: str
    reason: str
    failed_at: datetime


@dataclass(frozen=True, kw_only=True)
class RecordPayoutReturned(Command):
    """From the ledger's payment.returned: a settled payout came back from the bank."""

    payout_request_id: str
    claim_id: str
    reason: str
    returned_at: datetime


@dataclass(frozen=True, kw_only=True)
class RequestPayoutAgain(Command):
    """After a failed payout (e.g. a closed account, since corrected): a new attempt with a new id."""

    claim_id: str
