"""Fund sources and the payouts the ledger makes (rules F1-F3, C7, X2).

Money moves only as transfers of the engine (``ledger_svc.domain.transfers``; the transfers of
each payout step are in ``payout_transfers``). What is left here of the pre-engine journal
(``JournalEntry``, ``Posting``) describes the history written before the engine: the journal
tables are kept (C8) and read by ListJournalEntries, never written any more; migration 0006
carried each fund's balances into the engine as opening transfers.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from skillpay import fields
from skillpay.aggregate import Aggregate, Entity
from skillpay.errors import FailedPrecondition, FieldViolation, require


class FundType(enum.Enum):
    """F1: the fund sources a bureau pays subsidies from."""

    EMPLOYMENT_SUBSIDY = "employment_subsidy"  # 就业补助资金
    UNEMPLOYMENT_INSURANCE = "unemployment_insurance"  # 失业保险基金
    SKILLS_UPGRADING = "skills_upgrading"  # 职业技能提升行动专账
    OTHER = "other"


@dataclass(frozen=True)
class Fund(Entity):
    audit_type = "fund"

    fund_code: str
    name: str
    fund_type: FundType
    created_at: datetime

    @classmethod
    def open(cls, fund_code: str, name: str, fund_type: FundType | None, now: datetime) -> Fund:
        violations: list[FieldViolation] = []
        fund_code = fields.FUND_CODE.check(fund_code, "fund_code", violations)
        name = fields.FUND_NAME.check(name, "name", violations)
        if fund_type is None:
            violations.append(FieldViolation("fund_type", "is required (F1)"))
        require(violations)
        return cls(fund_code, name, fund_type, now)

    def audit_id(self) -> str:
        return self.fund_code

    def audit_state(self) -> str:
        return "open"


@dataclass(frozen=True)
class Posting:
    account: str
    debit_fen: int = 0
    credit_fen: int = 0


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class JournalEntry(Entity):
    audit_type = "journal_entry"

    entry_id: str
    fund_code: str
    kind: str
    reference: str
    postings: tuple[Posting, ...]
    posted_at: datetime

    def __post_init__(self):
        if len(self.postings) < 2:
            raise UnbalancedEntry("an entry needs at least two postings")
        for p in self.postings:
            if any(type(v) is not int for v in (p.debit_fen, p.credit_fen)):  # bool is not money
                raise UnbalancedEntry("amounts are integer fen")
            if p.debit_fen < 0 or p.credit_fen < 0 or (p.debit_fen > 0) == (p.credit_fen > 0):
                raise UnbalancedEntry("each posting is either a positive debit or a positive credit")
            # F2: separate accounting; an entry never touches another fund's accounts.
            if not p.account.startswith(f"{self.fund_code}:"):
                raise UnbalancedEntry("an entry may only post to its own fund's accounts (F2)")
        if sum(p.debit_fen for p in self.postings) != sum(p.credit_fen for p in self.postings):
            raise UnbalancedEntry("debits must equal credits")

    def audit_id(self) -> str:
        return self.entry_id

    def audit_state(self) -> str:
        return "posted"


@dataclass(frozen=True)
class FundBalances:
    """A fund's figures, from its accounts in the transfer engine (F1, F2)."""

    allocated_fen: int  # appropriated to the fund so far
    available_fen: int  # free to commit: available's credits less its debits, pending ones included
    committed_fen: int = 0  # reserved for approved payouts not yet at the bank (pending)
    in_transit_fen: int = 0  # handed to the bank, not yet settled (clearing)
    disbursed_fen: int = 0  # settled by the bank, less what came back
    returned_fen: int = 0  # sent back by the bank, in total
    recovered_fen: int = 0  # recovered from payees (X2), in total

    @property
    def payable_fen(self) -> int:
        """Owed to payees and not yet paid out: what the pre-engine ``payable`` account held."""
        return self.committed_fen + self.in_transit_fen


class PaymentState(enum.Enum):
    AWAITING_FUNDS = "awaiting_funds"
    QUEUED = "queued"  # funds committed, waiting for the bank (was "pending")
    SUBMITTED = "submitted"
    IN_DOUBT = "in_doubt"
    SETTLED = "settled"
    FAILED = "failed"
    RETURNED = "returned"  # settled, then sent back by the bank


# A claim line whose payout is in none of these may be paid by a new attempt (a new payout id).
RE_REQUESTABLE_STATES = frozenset({PaymentState.FAILED, PaymentState.RETURNED})


@dataclass(frozen=True)
class PaymentSettled:
    payment_id: str
    references: dict
    amount_fen: int
    fund_code: str
    bank_ref: str
    settled_at: datetime


@dataclass(frozen=True)
class PaymentFailed:
    payment_id: str
    references: dict
    amount_fen: int
    fund_code: str
    reason: str
    failed_at: datetime


@dataclass(frozen=True)
class PaymentReturned:
    payment_id: str
    references: dict
    amount_fen: int
    fund_code: str
    reason: str
    return_code: str
    returned_at: datetime


@dataclass(frozen=True)
class Payee:
    """Who is paid. A person (C7: to their social security card's financial account) may name
    the card's number; an institution names the account it is paid to (number, bank code)."""

    name: str
    id_masked: str
    id_sealed: bytes
    card_number: str = ""
    account_number: str = ""
    bank_code: str = ""


# The channels a payout can take (C7); each has its payment adapter.
PAYOUT_CHANNELS = ("ssc_card", "bank_transfer")
REFERENCE_KEY = fields.Text(32, re.compile(r"[a-z][a-z0-9_]*"), "must be lower-case letters, digits or '_'")
REFERENCE_VALUE = fields.Text(100)
SSC_CARD_NUMBER = fields.Text(32, re.compile(r"[0-9A-Za-z]+"), "must be letters and digits")
MAX_REFERENCES = 8


def payout_request_violations(payout_request_id: object, channel: object, fund_code: object, amount_fen: object,
                              payee: Payee, references: dict) -> list[FieldViolation]:
    """What a payout request from another service must hold before a payment is made of it; every
    bad field is named (the request arrives as an event, so this is the ledger's own edge)."""
    violations: list[FieldViolation] = []
    fields.REFERENCE_ID.check(payout_request_id, "payout_request_id", violations)
    if channel not in PAYOUT_CHANNELS:
        violations.append(FieldViolation("channel", f"must be one of {', '.join(PAYOUT_CHANNELS)}"))
    fields.FUND_CODE.check(fund_code, "fund_code", violations)
    fields.ALLOCATION_FEN.check(amount_fen, "amount_fen", violations)
    fields.PERSON_NAME.check(payee.name, "payee.name", violations)
    fields.MASKED_RESIDENT_ID.check(payee.id_masked, "payee.id_masked", violations, required=False)
    SSC_CARD_NUMBER.check(payee.card_number, "payee.card_number", violations, required=False)
    fields.BANK_ACCOUNT_NUMBER.check(payee.account_number, "payee.account_number", violations, required=False)
    fields.BANK_CODE.check(payee.bank_code, "payee.bank_code", violations, required=False)
    if not isinstance(payee.id_sealed, bytes) or len(payee.id_sealed) > fields.MAX_SEALED_BYTES:
        violations.append(FieldViolation("payee.id_sealed", f"must be at most {fields.MAX_SEALED_BYTES} bytes"))
    if len(references) > MAX_REFERENCES:
        violations.append(FieldViolation("references", f"must hold at most {MAX_REFERENCES} entries"))
    else:
        for key, value in references.items():
            REFERENCE_KEY.check(key, "references", violations)
            REFERENCE_VALUE.check(value, f"references.{key}" if len(str(key)) <= 32 else "references", violations)
    return violations


@dataclass
class Payment(Aggregate):
    """One payout per payout request (F3: it records fund source, date and amount).

    ``payment_id`` is the requester's payout request id, derived from what it pays for; it is the
    idempotency key here and at the bank. ``references`` are the requester's, opaque to the
    ledger and echoed in payment events.
    """

    audit_type = "payment"

    payment_id: str
    references: dict
    channel: str
    fund_code: str
    amount_fen: int
    payee: Payee
    created_at: datetime
    state: PaymentState = PaymentState.AWAITING_FUNDS
    bank_ref: str = ""
    failure_reason: str = ""
    submitted_at: datetime | None = None
    settled_at: datetime | None = None
    attempts: int = 0
    duplicate_requests: int = 0  # the same payout request arrived again and was refused
    version: int = field(default=0, compare=False)

    def audit_id(self) -> str:
        return self.payment_id

    def refuse_duplicate_request(self) -> None:
        self.duplicate_requests += 1

    @property
    def claim_line_id(self) -> str:
        return self.references.get("claim_line_id", "")

    @property
    def live(self) -> bool:
        """Whether it may still pay (or has paid): its claim line cannot be paid by another attempt."""
        return self.state not in RE_REQUESTABLE_STATES

    def funds_committed(self) -> None:
        if self.state is PaymentState.AWAITING_FUNDS:
            self.state = PaymentState.QUEUED

    def submitting(self, now: datetime) -> None:
        """Recorded before the bank is called: after a crash we ask the bank before sending again."""
        if self.state is not PaymentState.QUEUED:
            raise FailedPrecondition(f"payment is {self.state.value}; only a queued payment is submitted")
        self.state = PaymentState.SUBMITTED
        self.submitted_at = now
        self.attempts += 1

    def accepted(self, bank_ref: str) -> None:
        self.bank_ref = bank_ref or self.bank_ref
        if self.state is PaymentState.IN_DOUBT:
            self.state = PaymentState.SUBMITTED

    def in_doubt(self) -> None:
        if self.state is PaymentState.SUBMITTED:
            self.state = PaymentState.IN_DOUBT

    def not_received_by_bank(self) -> None:
        """The bank says it never got the payment: sending it again is now safe."""
        if self.state in (PaymentState.SUBMITTED, PaymentState.IN_DOUBT):
            self.state = PaymentState.QUEUED

    def settle(self, bank_ref: str, settled_at: datetime) -> bool:
        if self.state in (PaymentState.SETTLED, PaymentState.RETURNED):
            return False
        if self.state not in (PaymentState.SUBMITTED, PaymentState.IN_DOUBT):
            raise FailedPrecondition(f"payment is {self.state.value}; it cannot settle")
        self.state = PaymentState.SETTLED
        self.bank_ref = bank_ref or self.bank_ref
        self.settled_at = settled_at
        self.record(PaymentSettled(self.payment_id, dict(self.references), self.amount_fen, self.fund_code,
                                   self.bank_ref, settled_at))
        return True

    def fail(self, reason: str, now: datetime) -> bool:
        if self.state in (PaymentState.FAILED, PaymentState.SETTLED, PaymentState.RETURNED):
            return False
        self.state = PaymentState.FAILED
        self.failure_reason = reason
        self.record(PaymentFailed(self.payment_id, dict(self.references), self.amount_fen, self.fund_code,
                                  reason, now))
        return True

    def returned(self, return_code: str, returned_at: datetime) -> bool:
        """The bank sent a settled payment back (X2: the money is the fund's again, by transfers);
        the requester may pay the line again under a new attempt."""
        if self.state is PaymentState.RETURNED:
            return False
        if self.state is not PaymentState.SETTLED:
            raise FailedPrecondition(f"payment is {self.state.value}; only a settled payment is returned")
        self.state = PaymentState.RETURNED
        self.failure_reason = f"returned by bank: {return_code or 'no reason given'}"[:200]
        self.record(PaymentReturned(self.payment_id, dict(self.references), self.amount_fen, self.fund_code,
                                    self.failure_reason, return_code, returned_at))
        return True
