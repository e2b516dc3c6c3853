"""What the ledger needs from a bank: the payment port its service layer talks to.

The adapters in ``ledger_svc/adapters/payments.py`` implement it over the bank's HTTP protocol;
tests may implement it in memory. ``payment_id`` (the payout request id) is the idempotency key:
submitting the same instruction again never pays twice.

Errors (all derive from :class:`PaymentError`): :class:`BankUnavailable` (nothing reached the
bank; safe to retry), :class:`PaymentInDoubt` (it may have reached the bank: query it, never pay
it under a new id), :class:`PaymentRejected` (refused; nothing was paid). Resident ID numbers never
appear in their messages.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Self

from skillpay.pii import mask_resident_id

CHANNEL_SSC_CARD = "ssc_card"
CHANNEL_BANK_TRANSFER = "bank_transfer"
STATES = frozenset({"accepted", "settled", "failed"})


# -- values -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentInstruction:
    payment_id: str
    channel: str
    payee_id_number: str
    payee_name: str
    payee_account: str | None
    amount_fen: int
    fund_source: str
    memo: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_fen, bool) or not isinstance(self.amount_fen, int):
            raise TypeError("amount_fen must be an int (fen)")
        if self.amount_fen <= 0:
            raise ValueError("amount_fen must be > 0")

    def __repr__(self) -> str:
        return (
            f"PaymentInstruction(payment_id={self.payment_id!r}, channel={self.channel!r}, "
            f"payee_id_number={mask_resident_id(self.payee_id_number)!r}, amount_fen={self.amount_fen}, "
            f"fund_source={self.fund_source!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    payment_id: str
    state: str  # "accepted" | "settled" | "failed"
    bank_ref: str
    failure_reason: str | None
    settled_at: datetime | None  # timezone-aware (UTC); None while "accepted"


@dataclass(frozen=True, slots=True)
class StatementLine:
    payment_id: str
    bank_ref: str
    channel: str
    amount_fen: int
    fund_source: str
    state: str  # "settled" | "failed"
    settled_at: datetime  # timezone-aware (UTC)


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    description: str


# -- errors -------------------------------------------------------------------


class PaymentError(Exception):
    """Base class of payment failures.  Messages never contain ID numbers."""

    def __init__(self, message: str, *, payment_id: str | None = None) -> None:
        super().__init__(message)
        self.payment_id = payment_id


class PaymentInDoubt(PaymentError):
    """The submission may have reached the bank; the outcome is unknown.
    Query the payment_id; never pay it again under a new id."""


class PaymentRejected(PaymentError):
    """The bank refused the payment (4xx); nothing was paid."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        payment_id: str | None = None,
        status_code: int | None = None,
        violations: tuple[Violation, ...] = (),
    ) -> None:
        super().__init__(message, payment_id=payment_id)
        self.reason = reason
        self.status_code = status_code
        self.violations = violations


class BankUnavailable(PaymentError):
    """The bank could not be reached before anything was sent (or a read-only
    call failed); retrying is safe."""


# -- the port ---------------------------------------------------------------


class PaymentAdapter(abc.ABC):
    """One payment channel of the bank."""

    channel: str

    @abc.abstractmethod
    async def submit(self, instr: PaymentInstruction) -> PaymentStatus:
        """Hand the payment to the bank (idempotent on ``payment_id``).

        Returns the bank's status (normally "accepted"; a replay returns the
        current state).  Raises PaymentRejected, PaymentInDoubt or
        BankUnavailable.
        """

    @abc.abstractmethod
    async def query(self, payment_id: str) -> PaymentStatus | None:
        """The bank's current status of a payment, or None if it has none."""

    @abc.abstractmethod
    async def statement(self, day: date) -> list[StatementLine]:
        """This channel's lines of the bank statement of ``day`` (Asia/Shanghai)."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release connections."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
