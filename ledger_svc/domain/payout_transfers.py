"""The transfers a payout makes as it moves (F2, F3, X2): one function per step, ids derived from it.

Each transfer's id derives from the payout id and the step, so a replayed event, a retried call or
a service restored from an old backup asks the ledger for the same transfer again and gets
``EXISTS``: nothing moves twice. The flow through a fund's accounts is in ``transfers``'s docstring.
"""

from __future__ import annotations

from ledger_svc.domain.transfers import (
    AccountRole,
    Transfer,
    TransferCode,
    TransferFlags,
    account_id,
    transfer_id,
)


def _posted(fund: str, step: str, payout_id: str, debit: AccountRole, credit: AccountRole, amount_fen: int,
            code: TransferCode, flags: TransferFlags = TransferFlags.NONE) -> Transfer:
    return Transfer(transfer_id(step, payout_id), account_id(fund, debit), account_id(fund, credit), amount_fen,
                    fund, code, flags, user_data=payout_id)


def commitment_id(payout_id: str) -> str:
    return transfer_id("commitment", payout_id)


def commitment(fund: str, payout_id: str, amount_fen: int) -> list[Transfer]:
    """Approval reserves the amount from what the fund has available (F2: never more)."""
    return [_posted(fund, "commitment", payout_id, AccountRole.AVAILABLE, AccountRole.PAYABLES, amount_fen,
                    TransferCode.COMMITMENT, TransferFlags.PENDING)]


def submission(fund: str, payout_id: str, amount_fen: int) -> list[Transfer]:
    """Handed to the bank: the commitment is posted and the amount is in transit, together."""
    return [
        Transfer(transfer_id("commitment-posted", payout_id), "", "", 0, fund, TransferCode.SUBMISSION,
                 TransferFlags.POST_PENDING_TRANSFER | TransferFlags.LINKED, pending_id=commitment_id(payout_id),
                 user_data=payout_id),
        _posted(fund, "submission", payout_id, AccountRole.PAYABLES, AccountRole.CLEARING, amount_fen,
                TransferCode.SUBMISSION),
    ]


def settlement(fund: str, payout_id: str, amount_fen: int) -> list[Transfer]:
    """F3: the bank paid it; the day of the transfer is the payment's date."""
    return [_posted(fund, "settlement", payout_id, AccountRole.CLEARING, AccountRole.DISBURSED, amount_fen,
                    TransferCode.SETTLEMENT)]


def release_before_submission(fund: str, payout_id: str) -> list[Transfer]:
    """Failed before the bank had it: the reservation is voided."""
    return [Transfer(transfer_id("commitment-voided", payout_id), "", "", 0, fund, TransferCode.RELEASE,
                     TransferFlags.VOID_PENDING_TRANSFER, pending_id=commitment_id(payout_id), user_data=payout_id)]


def release_after_submission(fund: str, payout_id: str, amount_fen: int) -> list[Transfer]:
    """The bank refused or failed it: a reversing transfer gives the amount back (X2: nothing deleted)."""
    return [_posted(fund, "release", payout_id, AccountRole.CLEARING, AccountRole.AVAILABLE, amount_fen,
                    TransferCode.RELEASE)]


def returned(fund: str, payout_id: str, amount_fen: int) -> list[Transfer]:
    """Paid, then sent back by the bank (a return on its statement): the money is available again."""
    return [
        _posted(fund, "returned", payout_id, AccountRole.DISBURSED, AccountRole.RETURNED, amount_fen,
                TransferCode.RETURN, TransferFlags.LINKED),
        _posted(fund, "returned-available", payout_id, AccountRole.RETURNED, AccountRole.AVAILABLE, amount_fen,
                TransferCode.RETURN),
    ]


def recovery(fund: str, recovery_id: str, amount_fen: int) -> list[Transfer]:
    """X2: money paid on a false claim and recovered from the payee; ``recovery_id`` names the case."""
    return [
        _posted(fund, "recovered", recovery_id, AccountRole.DISBURSED, AccountRole.RECOVERED, amount_fen,
                TransferCode.RECOVERY, TransferFlags.LINKED),
        _posted(fund, "recovered-available", recovery_id, AccountRole.RECOVERED, AccountRole.AVAILABLE, amount_fen,
                TransferCode.RECOVERY),
    ]


def allocation(fund: str, request_id: str, amount_fen: int) -> list[Transfer]:
    """F1: finance appropriates budget to the fund; the id derives from the request that asked."""
    return [_posted(fund, "allocation", request_id, AccountRole.APPROPRIATION, AccountRole.AVAILABLE, amount_fen,
                    TransferCode.ALLOCATION)]
