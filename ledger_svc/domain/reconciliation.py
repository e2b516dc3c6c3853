"""Reconciling a fund's payouts with the bank's statement of a day (issue 8). Pure Python.

The bank books every payout it made from the fund's account as a debit (DBIT) and every payment
that came back as a credit (CRDT, a return with its reason code). Both sides are matched by
reference, the payout id (the EndToEndId the ledger gave the bank), in one pass over each side
with dicts, so a million lines reconcile in seconds.

Every payout handed in and every statement line of the fund and day ends in exactly one
:class:`Finding`:

- explained: ``matched`` (same reference, same amount to the fen), ``returned`` (a CRDT return of
  a payout), ``not_at_bank`` (absent, as the ledger expects: failed, not yet sent, or returned);
- unexplained, each with what finance should do (:data:`WHAT_TO_DO`, Chinese and English):
  ``amount_mismatch`` (even 1 fen), ``in_ledger_not_statement``, ``in_statement_not_ledger``,
  ``duplicate`` (the same reference debited, or returned, twice), ``paid_not_expected`` (the bank
  paid a payout the ledger holds as failed or never sent), ``channel_mismatch`` (C7).

Rules: F3 (each payment records its fund source, date and amount: reconciliation checks all three
against what the bank booked), C7 (persons are paid through their social security card: a payout
booked through another channel than the ledger chose is a difference), X2 (duplicates and amounts
paid in excess are listed for recovery, which is a reversing entry, never a deletion).

Matching also settles what the ledger could not know: a matched DBIT of a payout that is still
``submitted`` or ``in_doubt`` is a :class:`Resolution` "settled at bank" (in doubt is resolved by
the statement, never by sending again); a return is a "returned" resolution. Reconciling the same
statement again yields no new resolution once the first ones are applied.
"""

from __future__ import annotations

import enum
import gc
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

DBIT = "DBIT"  # the payout left the fund's account
CRDT = "CRDT"  # money came back to it: a return
BOOKED = "BOOK"

# Payout states as the ledger names them (LedgerPayout.state).
SETTLED = "settled"
SUBMITTED = "submitted"
IN_DOUBT = "in_doubt"
FAILED = "failed"
RETURNED = "returned"
QUEUED = "queued"
PENDING = "pending"  # the name of "queued" before migration 0006, kept for data read from older files
AWAITING_FUNDS = "awaiting_funds"

# The bank holds these (or may): the statement should list them.
EXPECTED_AT_BANK = frozenset({SETTLED, SUBMITTED, IN_DOUBT})
# Outcome still unknown to the ledger: a booked debit (or a return) settles them.
OPEN = frozenset({SUBMITTED, IN_DOUBT})
# The ledger holds these as never paid by the bank: a debit or return of one is a difference.
NOT_SENT = frozenset({FAILED, QUEUED, PENDING, AWAITING_FUNDS})


class StatementLine(NamedTuple):
    """One booked entry of the bank's statement (a NamedTuple: a million are made per file)."""

    line: int  # where it is in the file: the CSV line number, or the entry's ordinal in camt.053
    booking_date: date  # Asia/Shanghai calendar day
    value_date: date
    bank_ref: str
    payment_id: str  # the ledger's payout id (EndToEndId)
    fund_source: str
    channel: str  # "" when the format does not carry it (camt.053)
    credit_debit: str  # DBIT | CRDT
    amount_fen: int  # positive
    status: str  # BOOK
    return_reason: str  # ISO 20022 return reason code on CRDT returns, else ""


class LedgerPayout(NamedTuple):
    """What reconciliation needs to know of one of the ledger's payouts (F3: fund, amount)."""

    payout_id: str
    fund_code: str
    amount_fen: int
    state: str  # settled | submitted | in_doubt | failed | returned | queued | awaiting_funds
    bank_ref: str = ""
    channel: str = ""


class Category(enum.Enum):
    MATCHED = "matched"
    RETURNED = "returned"
    NOT_AT_BANK = "not_at_bank"
    AMOUNT_MISMATCH = "amount_mismatch"
    IN_LEDGER_NOT_STATEMENT = "in_ledger_not_statement"
    IN_STATEMENT_NOT_LEDGER = "in_statement_not_ledger"
    DUPLICATE = "duplicate"
    PAID_NOT_EXPECTED = "paid_not_expected"
    CHANNEL_MISMATCH = "channel_mismatch"

    @property
    def explained(self) -> bool:
        return self in EXPLAINED


EXPLAINED = frozenset({Category.MATCHED, Category.RETURNED, Category.NOT_AT_BANK})


class WhatToDo(NamedTuple):
    zh: str
    en: str


# Plain words for the finance department, one per difference (and for returns, which need a new attempt).
WHAT_TO_DO: dict[Category, WhatToDo] = {
    Category.AMOUNT_MISMATCH: WhatToDo(
        "银行记账金额与账务支付金额不符。请向银行调取支付凭证核对：银行差错的请其更正；多付的按规定追回差额（X2）。",
        "The bank booked a different amount than the ledger paid. Get the payment record from the bank: if the "
        "bank erred, have it corrected; if too much was paid, recover the difference (X2)."),
    Category.IN_LEDGER_NOT_STATEMENT: WhatToDo(
        "账务已向银行发出此笔支付，但对账单中没有。请向银行查询其状态；次日对账单仍没有的，请银行查找。切勿重新支付。",
        "The ledger sent this payout to the bank, but the statement does not list it. Ask the bank for its "
        "status; if the next day's statement does not list it either, ask the bank to trace it. Never pay it again."),
    Category.IN_STATEMENT_NOT_LEDGER: WhatToDo(
        "对账单中有此笔，但本资金来源的账务中没有（可能属于其他资金来源，F2）。请向银行核实其支付指令；不是本系统发出的，请银行冲回。",
        "The statement lists this payment, but this fund's ledger has no such payout (it may belong to another "
        "fund, F2). Ask the bank for the instruction behind it; if SkillPay did not send it, have the bank reverse it."),
    Category.DUPLICATE: WhatToDo(
        "同一笔支付被银行重复记账。请银行冲回重复的一笔；款项已到收款人账户的，按规定追回（X2）。",
        "The bank booked the same payout more than once. Ask the bank to reverse the extra booking; if the "
        "money reached the payee, recover it (X2)."),
    Category.PAID_NOT_EXPECTED: WhatToDo(
        "账务记录此笔为失败或尚未发出，银行却已记账。请暂停该申领明细的重新发起，依据银行记录更正账务，多付的按规定追回（X2）。",
        "The bank booked a payout the ledger holds as failed or not yet sent. Hold any new attempt for its "
        "claim line, correct the ledger from the bank's record, and recover any double payment (X2)."),
    Category.CHANNEL_MISMATCH: WhatToDo(
        "银行的支付渠道与账务选定的不同（个人补贴应发放至社会保障卡金融账户，C7）。请向银行核实款项入了哪个账户。",
        "The bank paid through another channel than the ledger chose (subsidies to persons go to their social "
        "security card, C7). Ask the bank which account was credited."),
    Category.RETURNED: WhatToDo(
        "款项被退回（见退回原因）。请核实并更正收款人信息后，作为新的支付重新发起。",
        "The payment came back (see the return reason). Check and correct the payee's details, then request it "
        "again as a new attempt."),
}

# Frequent ISO 20022 return reason codes, in plain words.
RETURN_REASONS: dict[str, WhatToDo] = {
    "AC01": WhatToDo("账号错误", "incorrect account number"),
    "AC04": WhatToDo("账户已销户", "account closed"),
    "AC06": WhatToDo("账户已冻结", "account blocked"),
    "AG01": WhatToDo("账户不允许此交易", "transaction forbidden on this account"),
    "BE01": WhatToDo("户名与账户不符", "name does not match the account"),
    "MD07": WhatToDo("收款人已死亡", "payee deceased"),
    "MS03": WhatToDo("未说明原因", "reason not specified"),
}


class Finding(NamedTuple):
    category: Category
    payout_id: str
    payout: LedgerPayout | None  # None when this finding holds only a line
    line: StatementLine | None  # None when this finding holds only a payout


class ResolutionKind(enum.Enum):
    SETTLED_AT_BANK = "settled_at_bank"
    RETURNED = "returned"


class Resolution(NamedTuple):
    kind: ResolutionKind
    payout_id: str
    bank_ref: str
    booking_date: date
    amount_fen: int
    return_reason: str = ""


class CategorySummary(NamedTuple):
    count: int
    ledger_fen: int  # sum of the payouts in this category's findings
    statement_fen: int  # sum of the lines in this category's findings


@dataclass
class Reconciliation:
    fund_code: str
    day: date
    findings: list[Finding] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)
    other_fund_lines: int = 0  # lines of another fund source: not this reconciliation's (F2)
    other_day_lines: int = 0  # lines booked on another day

    def summary(self) -> dict[Category, CategorySummary]:
        """Count and sums per category, every category listed (zeros included)."""
        counts = dict.fromkeys(Category, 0)
        ledger = dict.fromkeys(Category, 0)
        statement = dict.fromkeys(Category, 0)
        for category, _, payout, line in self.findings:
            counts[category] += 1
            if payout is not None:
                ledger[category] += payout.amount_fen
            if line is not None:
                statement[category] += line.amount_fen
        return {c: CategorySummary(counts[c], ledger[c], statement[c]) for c in Category}

    def unexplained(self) -> list[Finding]:
        return [f for f in self.findings if f.category not in EXPLAINED]

    def settled_ids(self) -> list[str]:
        return [r.payout_id for r in self.resolutions if r.kind is ResolutionKind.SETTLED_AT_BANK]

    def returned_ids(self) -> list[str]:
        return [r.payout_id for r in self.resolutions if r.kind is ResolutionKind.RETURNED]


@contextmanager
def collector_paused():
    """Millions of tuples, none in a reference cycle: the cyclic garbage collector would only walk
    them again and again (it doubled the time of a million-line reconciliation)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def reconcile(fund_code: str, day: date, payouts: Iterable[LedgerPayout],
              lines: Iterable[StatementLine]) -> Reconciliation:
    """Classify every payout and every line of ``fund_code`` booked on ``day`` exactly once (F3, C7, X2).

    ``payouts`` are the fund's payouts the statement is compared with (all of one fund: a payout of
    another fund is a caller's error, F2). Lines of another fund source or booked on another day
    are not this reconciliation's: they are only counted. ``lines`` may be a reader's stream: it is
    read once, while the garbage collector is paused.
    """
    with collector_paused():
        return _reconcile(fund_code, day, payouts, lines)


def _reconcile(fund_code: str, day: date, payouts: Iterable[LedgerPayout],
               lines: Iterable[StatementLine]) -> Reconciliation:
    result = Reconciliation(fund_code, day)
    findings = result.findings
    add = findings.append
    resolutions = result.resolutions

    ledger: dict[str, LedgerPayout] = {}
    for p in payouts:
        if p.fund_code != fund_code:
            raise ValueError("a payout of another fund cannot be reconciled with this fund's statement (F2)")
        if p.payout_id in ledger:
            raise ValueError("the same payout was handed in twice")
        ledger[p.payout_id] = p

    debits: dict[str, StatementLine] = {}
    credits: dict[str, StatementLine] = {}
    other_fund = other_day = 0
    for line in lines:
        if line.fund_source != fund_code:
            other_fund += 1
            continue
        if line.booking_date != day:
            other_day += 1
            continue
        pid = line.payment_id
        seen = debits if line.credit_debit == DBIT else credits
        if pid in seen:
            add(Finding(Category.DUPLICATE, pid, None, line))  # X2: booked twice
        else:
            seen[pid] = line
    result.other_fund_lines, result.other_day_lines = other_fund, other_day

    placed: set[str] = set()
    get = ledger.get
    for pid, line in debits.items():
        p = get(pid)
        if p is None:
            add(Finding(Category.IN_STATEMENT_NOT_LEDGER, pid, None, line))
            continue
        placed.add(pid)
        state = p.state
        if state in NOT_SENT:
            category = Category.PAID_NOT_EXPECTED
        elif line.amount_fen != p.amount_fen:  # F3: to the fen
            category = Category.AMOUNT_MISMATCH
        elif line.channel and p.channel and line.channel != p.channel:  # C7
            category = Category.CHANNEL_MISMATCH
        else:
            category = Category.MATCHED
            if state in OPEN:
                resolutions.append(Resolution(ResolutionKind.SETTLED_AT_BANK, pid, line.bank_ref,
                                              line.booking_date, line.amount_fen))
        add(Finding(category, pid, p, line))

    for pid, line in credits.items():
        p = get(pid)
        if p is None:
            add(Finding(Category.IN_STATEMENT_NOT_LEDGER, pid, None, line))
            continue
        debited_here = pid in placed
        holder = None if debited_here else p
        placed.add(pid)
        if p.state in NOT_SENT:
            add(Finding(Category.PAID_NOT_EXPECTED, pid, holder, line))
        elif line.amount_fen != p.amount_fen:
            add(Finding(Category.AMOUNT_MISMATCH, pid, holder, line))
        else:
            add(Finding(Category.RETURNED, pid, holder, line))
            if p.state in OPEN and not debited_here:
                # It came back, so the bank had paid it: the debit was on an earlier statement.
                resolutions.append(Resolution(ResolutionKind.SETTLED_AT_BANK, pid, line.bank_ref,
                                              line.booking_date, line.amount_fen))
            if p.state != RETURNED:
                resolutions.append(Resolution(ResolutionKind.RETURNED, pid, line.bank_ref, line.booking_date,
                                              line.amount_fen, line.return_reason))

    for pid, p in ledger.items():
        if pid not in placed:
            add(Finding(Category.IN_LEDGER_NOT_STATEMENT if p.state in EXPECTED_AT_BANK else Category.NOT_AT_BANK,
                        pid, p, None))
    return result
