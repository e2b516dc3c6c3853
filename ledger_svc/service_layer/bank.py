"""What the ledger needs from a bank: the payment port its service layer talks to.

The adapters in ``ledger_svc/adapters/payments.py`` implement it over the bank's HTTP protocol;
tests may implement it in memory. ``payment_id`` (the payout request id) is the idempotency key:
submitting the same instruction again never pays twice.

Every adapter has the same interface: ``submit_batch(batch)`` hands the bank a
:class:`PaymentBatch` -- a deterministic batch id, its instructions and control totals (count
and sum of ``amount_fen``) -- and gets an answer per instruction (accepted, already known with
its first result, or rejected with the bank's reason); ``query(payment_id)`` and
``statement(day)`` read.  Submitting one payment is a batch of one (:meth:`PaymentAdapter.submit`).
The adapter is chosen by payee kind, in one place: :func:`adapter_for` (C7: a person is paid to
the financial account of their social security card, ``ssc_card``; an institution by bank
transfer).

Errors (all derive from :class:`PaymentError`): :class:`BankUnavailable` (nothing reached the
bank; safe to retry), :class:`PaymentInDoubt` (it may have reached the bank: query it, never pay
it under a new id; for a batch: every payment in it), :class:`BatchRefused` (the bank refused
the whole batch, e.g. control totals that do not match; nothing in it was accepted),
:class:`PaymentRejected` (one payment refused; nothing was paid). Resident ID numbers never
appear in their messages.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Self

from skillpay.ids import derived_id
from skillpay.pii import mask_resident_id

CHANNEL_SSC_CARD = "ssc_card"
CHANNEL_BANK_TRANSFER = "bank_transfer"
STATES = frozenset({"accepted", "settled", "failed"})

PAYEE_PERSON = "person"
PAYEE_INSTITUTION = "institution"
# C7: subsidies to persons are paid to their social security card's financial account.
CHANNEL_FOR_PAYEE_KIND = {PAYEE_PERSON: CHANNEL_SSC_CARD, PAYEE_INSTITUTION: CHANNEL_BANK_TRANSFER}
PAYEE_KIND_FOR_CHANNEL = {channel: kind for kind, channel in CHANNEL_FOR_PAYEE_KIND.items()}
MAX_BATCH = 500  # the bank's limit per batch


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
    payee_card_number: str | None = None  # ssc_card, optional: the bank knows the card by the ID
    payee_bank_code: str | None = None  # bank_transfer

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
class BankPayee:
    """Who the bank pays: a person (social security card: card number optional, name and
    resident ID must match the bank's card registry) or an institution (account number, account
    name and bank code must match the bank's account registry)."""

    kind: str  # PAYEE_PERSON | PAYEE_INSTITUTION
    name: str
    id_number: str
    card_number: str | None = None
    account_number: str | None = None
    bank_code: str | None = None

    def __repr__(self) -> str:
        return f"BankPayee(kind={self.kind!r}, id_number={mask_resident_id(self.id_number)!r})"

    __str__ = __repr__

    @property
    def channel(self) -> str:
        return channel_for(self.kind)

    def instruction(self, payment_id: str, amount_fen: int, fund_source: str, memo: str) -> PaymentInstruction:
        person = self.kind == PAYEE_PERSON
        return PaymentInstruction(
            payment_id=payment_id, channel=self.channel, payee_id_number=self.id_number, payee_name=self.name,
            payee_account=None if person else self.account_number, amount_fen=amount_fen,
            fund_source=fund_source, memo=memo,
            payee_card_number=self.card_number if person else None,
            payee_bank_code=None if person else self.bank_code)


def channel_for(payee_kind: str) -> str:
    """The one place a payee kind picks its channel (C7)."""
    try:
        return CHANNEL_FOR_PAYEE_KIND[payee_kind]
    except KeyError:
        raise ValueError(f"unknown payee kind {payee_kind!r}") from None


def adapter_for(adapters: Mapping[str, PaymentAdapter], payee: BankPayee) -> PaymentAdapter:
    """The adapter that pays ``payee``: ``ssc_card`` for a person (C7), ``bank_transfer`` for an
    institution."""
    return adapters[channel_for(payee.kind)]


class PaymentAdapters(dict[str, "PaymentAdapter"]):
    """The adapters of a process, keyed by channel."""

    def adapter_for(self, payee: BankPayee) -> PaymentAdapter:
        return adapter_for(self, payee)


@dataclass(frozen=True, slots=True)
class PaymentBatch:
    """Instructions of one channel handed to the bank together, with control totals.

    ``batch_id`` derives from the channel and each instruction's payment id, amount and fund
    source (in order; never from personal data): the same batch always has the same id.  Build it with :meth:`of`; the bank refuses a batch whose totals do not
    match its content.
    """

    batch_id: str
    channel: str
    instructions: tuple[PaymentInstruction, ...]
    control_count: int
    control_sum_fen: int

    @classmethod
    def of(cls, instructions: Iterable[PaymentInstruction]) -> PaymentBatch:
        instructions = tuple(instructions)
        if not 1 <= len(instructions) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1..{MAX_BATCH} instructions")
        channels = {i.channel for i in instructions}
        if len(channels) != 1:
            raise ValueError("a batch holds instructions of one channel")
        (channel,) = channels
        facts = [f"{i.payment_id}:{i.amount_fen}:{i.fund_source}" for i in instructions]
        return cls(derived_id("batch", channel, *facts), channel, instructions,
                   len(instructions), sum(i.amount_fen for i in instructions))

    @property
    def payment_ids(self) -> tuple[str, ...]:
        return tuple(i.payment_id for i in self.instructions)


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    payment_id: str
    state: str  # "accepted" | "settled" | "failed"
    bank_ref: str
    failure_reason: str | None
    settled_at: datetime | None  # timezone-aware (UTC); None while "accepted"
    # A settled payment that came back later (returned credit), with its ISO reason code.
    returned_at: datetime | None = None
    return_reason: str | None = None


class InstructionOutcome(enum.Enum):
    ACCEPTED = "accepted"
    ALREADY_KNOWN = "already_known"  # submitted before: ``status`` is its first result as it stands
    REJECTED = "rejected"  # refused, nothing paid: ``reason`` (and ``violations``)


@dataclass(frozen=True, slots=True)
class InstructionResult:
    payment_id: str
    outcome: InstructionOutcome
    status: PaymentStatus | None = None  # accepted / already known
    reason: str | None = None  # rejected
    violations: tuple[Violation, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The bank's answer per instruction, in its order; an instruction answered twice (the bank
    delivered the same outcome twice) appears twice."""

    batch_id: str
    results: tuple[InstructionResult, ...]

    def for_payment(self, payment_id: str) -> list[InstructionResult]:
        return [r for r in self.results if r.payment_id == payment_id]


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

    def __init__(self, message: str, *, payment_id: str | None = None, batch_id: str | None = None) -> None:
        super().__init__(message)
        self.payment_id = payment_id
        self.batch_id = batch_id


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


class BatchRefused(PaymentError):
    """The bank refused a whole batch (control totals that do not match, a malformed batch, a
    batch id used for other content); nothing in it was accepted by this call."""

    def __init__(self, message: str, *, reason: str, batch_id: str | None = None,
                 status_code: int | None = None, violations: tuple[Violation, ...] = ()) -> None:
        super().__init__(message, batch_id=batch_id)
        self.reason = reason
        self.status_code = status_code
        self.violations = violations


# The HTTP status the bank's single-payment endpoint gives a rejection (kept on PaymentRejected).
REJECTION_STATUS = {"payment_id_conflict": 409, "invalid_request": 422}


class BankUnavailable(PaymentError):
    """The bank could not be reached before anything was sent (or a read-only
    call failed); retrying is safe."""


# -- the port ---------------------------------------------------------------


class PaymentAdapter(abc.ABC):
    """One payment channel of the bank."""

    channel: str

    @abc.abstractmethod
    async def submit_batch(self, batch: PaymentBatch) -> BatchResult:
        """Hand a batch to the bank (idempotent on each ``payment_id``); a result per instruction.

        Raises BankUnavailable (nothing was sent), PaymentInDoubt (no usable answer: every
        payment in the batch is in doubt) or BatchRefused (nothing accepted).
        """

    async def submit(self, instr: PaymentInstruction) -> PaymentStatus:
        """One payment, as a batch of one.

        Returns the bank's status (normally "accepted"; a replay returns the
        current state).  Raises PaymentRejected, PaymentInDoubt or
        BankUnavailable.
        """
        batch = PaymentBatch.of([instr])
        pid = instr.payment_id
        try:
            answer = await self.submit_batch(batch)
        except PaymentInDoubt as exc:
            raise PaymentInDoubt(str(exc), payment_id=pid, batch_id=batch.batch_id) from exc
        except BatchRefused as exc:
            raise PaymentRejected(str(exc), reason=exc.reason, payment_id=pid, status_code=exc.status_code,
                                  violations=exc.violations) from exc
        results = answer.for_payment(pid)
        if not results:
            raise PaymentInDoubt(f"the bank's answer does not mention payment {pid}; query it before any retry",
                                 payment_id=pid, batch_id=batch.batch_id)
        result = results[0]
        if result.outcome is InstructionOutcome.REJECTED:
            reason = result.reason or "rejected"
            detail = "; ".join(f"{v.field}: {v.description}" for v in result.violations)
            raise PaymentRejected(f"bank rejected payment {pid}: {reason}" + (f" ({detail})" if detail else ""),
                                  reason=reason, payment_id=pid, status_code=REJECTION_STATUS.get(reason, 422),
                                  violations=result.violations)
        assert result.status is not None
        return result.status

    @abc.abstractmethod
    async def query(self, payment_id: str) -> PaymentStatus | None:
        """The bank's current status of a payment, or None if it has none."""

    @abc.abstractmethod
    async def statement(self, day: date) -> list[StatementLine]:
        """This channel's lines of the bank statement of ``day`` (Asia/Shanghai)."""

    def statement_file(self, day: date, fmt: str = "csv", fund_source: str | None = None) -> AsyncIterator[bytes]:
        """The bank's statement file of ``day`` (all channels; one fund account with
        ``fund_source``) as it arrives: ``fmt`` "csv" (the documented layout) or "xml" (ISO 20022
        camt.053); see docs/bank_statement_formats.md.  Raises BankUnavailable / PaymentError."""
        raise NotImplementedError(f"{type(self).__name__} has no statement files")

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
