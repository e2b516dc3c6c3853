"""What can be asked of the ledger service: plain data, each carrying its actor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ledger_svc.domain.model import FundType, Payee
from ledger_svc.domain.transfers import Transfer
from skillpay.messagebus import Command


@dataclass(frozen=True, kw_only=True)
class OpenFund(Command):
    fund_code: str
    name: str
    fund_type: FundType | None


@dataclass(frozen=True, kw_only=True)
class AllocateBudget(Command):
    fund_code: str
    amount_fen: int
    memo: str = ""


@dataclass(frozen=True, kw_only=True)
class RequestPayout(Command):
    """From claim_svc's payout.requested. ``payout_request_id`` is the idempotency key to the bank."""

    payout_request_id: str
    channel: str
    fund_code: str
    amount_fen: int
    payee: Payee
    references: dict = field(default_factory=dict)


# The payout worker's steps. Each moves ALL the payments it names in one transaction, their
# transfers applied as one batch (group commit on the payout path): the worker's round commits funds
# for every awaiting payment at once, marks a whole bank batch submitted at once, applies a bank
# batch's answers at once.
@dataclass(frozen=True, kw_only=True)
class CommitFunds(Command):
    payment_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class StartSubmission(Command):
    payment_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ReturnToQueue(Command):
    """The bank did not receive these payments (unreachable, or says it never got them): safe to send again."""

    payment_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class MarkInDoubt(Command):
    payment_ids: tuple[str, ...]


@dataclass(frozen=True)
class BankAnswer:
    """What the bank said about one payment.

    ``state``: "accepted" | "settled" | "failed" | "returned" (settled, then sent back: ``returned_at``,
    ``return_reason``) | "in_doubt" (no usable answer) | "not_received" (the bank never got it).
    """

    payment_id: str
    state: str
    bank_ref: str = ""
    settled_at: datetime | None = None
    failure_reason: str = ""
    returned_at: datetime | None = None
    return_reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ApplyBankAnswers(Command):
    """A bank batch's answers (or the status queries of a round), applied in one transaction."""

    answers: tuple[BankAnswer, ...]


@dataclass(frozen=True, kw_only=True)
class ApplyBankStatus(Command):
    """One payment's status from the bank; a payment that cannot take it is refused (FailedPrecondition)."""

    payment_id: str
    state: str  # "accepted" | "settled" | "failed" | "returned"
    bank_ref: str = ""
    settled_at: datetime | None = None
    failure_reason: str = ""
    returned_at: datetime | None = None
    return_reason: str = ""


@dataclass(frozen=True)
class StatementFile:
    """A statement file on disk (an upload spooled by the entrypoint, or the bank's file fetched by
    the ledger), read from its path as a stream. Its text, which the bus's request fingerprint
    uses, is its SHA-256 and size: the same file gives the same fingerprint, and a 500 MB file is
    never hex-encoded into one."""

    path: Path
    size: int
    sha256: str

    def __str__(self) -> str:
        return f"sha256:{self.sha256}:{self.size}"


@dataclass(frozen=True, kw_only=True)
class ReconcileStatement(Command):
    """The bank's statement of one fund source and day, matched against the ledger's payouts (issue 8).

    ``format`` is "csv" or "camt053" (docs/bank_statement_formats.md); ``content`` the file's bytes,
    or the file itself (:class:`StatementFile`).
    """

    fund_code: str
    day: date
    format: str
    content: bytes | StatementFile = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class ReconcileFromBank(Command):
    """ReconcileStatement with the statement file the ledger fetches from the bank itself (its CSV
    layout, the fund's lines of ``day``)."""

    fund_code: str
    day: date | None


@dataclass(frozen=True, kw_only=True)
class CreateTransfers(Command):
    """Transfers for the engine, applied in the next group-committed batch (one result each).

    Idempotent by transfer id (the same id again answers EXISTS), so it needs no request id of its
    own: the actor's is the one the call is logged under, and goes on each transfer's audit record.
    A ``code`` that is not a TransferCode is refused (the entrypoint passes what it cannot map as is).
    """

    transfers: tuple[Transfer, ...]
