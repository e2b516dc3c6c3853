"""Claims for subsidies and the lines they pay (rules C1-C7; review and project tranches come later).

A claim holds claim lines, one per reason to pay (today a voucher's subsidy; later a top-up, a
project tranche, a living allowance). Every id here is derived from the fact that caused it:
the claim and its line from the voucher, a payout request from its line and attempt. Re-creating
a claim from a replayed event therefore re-creates the same payout request ids, which the
ledger and the bank recognise.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime

from skillpay import fields
from skillpay.aggregate import Aggregate
from skillpay.errors import FailedPrecondition, FieldViolation, require
from skillpay.ids import derived_id

log = logging.getLogger(__name__)


class ClaimKind(enum.Enum):
    VOUCHER = "voucher"
    PROJECT = "project"


class PayeeKind(enum.Enum):
    PERSON = "person"
    INSTITUTION = "institution"


class ClaimState(enum.Enum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    PAYMENT_FAILED = "payment_failed"
    WITHDRAWN = "withdrawn"  # every line withdrawn (rollbacks, a revoked voucher)


class LineKind(enum.Enum):
    VOUCHER_SUBSIDY = "voucher_subsidy"
    TOP_UP = "top_up"  # A5: the difference to a voucher's full value, once employment is confirmed


class LineState(enum.Enum):
    OPEN = "open"
    PAYOUT_REQUESTED = "payout_requested"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    # The voucher's redemption was rolled back (or the voucher revoked): never requested again.
    WITHDRAWN = "withdrawn"
    # Withdrawn, but a payout requested before settled all the same: a recovery is due (X2).
    PAID_AFTER_WITHDRAWAL = "paid_after_withdrawal"


WITHDRAWN_LINE_STATES = frozenset({LineState.WITHDRAWN, LineState.PAID_AFTER_WITHDRAWAL})


@dataclass(frozen=True)
class Payee:
    """Who receives the money. A person's ID number stays sealed; only the masked form is shown."""

    kind: PayeeKind
    name: str
    id_masked: str = ""
    id_sealed: bytes = b""
    id_lookup: str = ""


# C7: subsidies to persons go to the social security card's financial account.
CHANNEL_FOR_PAYEE = {PayeeKind.PERSON: "ssc_card", PayeeKind.INSTITUTION: "bank_transfer"}


def claim_id_for_voucher(voucher_id: str) -> str:
    return derived_id("clm", "voucher", voucher_id)


def line_id_for(kind: LineKind, cause: str) -> str:
    return derived_id("cln", kind.value, cause)


def payout_request_id_for(line_id: str, attempt: int) -> str:
    return derived_id("po", line_id, attempt)


HIGHEST_LEVEL, LOWEST_LEVEL = 1, 5  # L3
MAX_FAILURE_REASON_CHARS = 200
# What voucher.redeemed may name as the rule behind the value ("" from producers before A2-A4).
VALUATION_RULES = frozenset({"", "A2", "A3", "A4"})
TOP_UP_RULE = "A5"


def valuation_violations(rule: str, rate_percent: int, standard_fen: int, amount_fen: int) -> list[FieldViolation]:
    """A2-A4 as voucher.redeemed states them: a known rule, a percentage, a standard the amount fits in."""
    violations: list[FieldViolation] = []
    if rule not in VALUATION_RULES:
        violations.append(FieldViolation("valuation_rule", "must be A2, A3 or A4"))
    if isinstance(rate_percent, bool) or not isinstance(rate_percent, int) or not 0 <= rate_percent <= 100:
        violations.append(FieldViolation("rate_percent", "must be between 0 and 100"))
    stated = standard_fen and fields.SUBSIDY_FEN.check(standard_fen, "standard_fen", violations)  # 0: not stated
    if stated and isinstance(amount_fen, int) and amount_fen > standard_fen:
        violations.append(FieldViolation("amount_fen", "must not exceed standard_fen"))
    return violations


def top_up_violations(top_up_id: str, voucher_id: str, value_fen: int, top_up_fen: int,
                      standard_fen: int) -> list[FieldViolation]:
    """What voucher.topped_up must carry (A5), every bad field named at once."""
    violations: list[FieldViolation] = []
    fields.REFERENCE_ID.check(top_up_id, "top_up_id", violations)
    fields.REFERENCE_ID.check(voucher_id, "voucher_id", violations)
    fields.SUBSIDY_FEN.check(value_fen, "value_fen", violations)
    fields.SUBSIDY_FEN.check(top_up_fen, "top_up_fen", violations)
    if fields.SUBSIDY_FEN.check(standard_fen, "standard_fen", violations) and not violations \
            and value_fen + top_up_fen > standard_fen:
        violations.append(FieldViolation("top_up_fen", "value and top-up together must not exceed standard_fen (A5)"))
    return violations


def payee_violations(payee: Payee, field: str = "payee") -> list[FieldViolation]:
    """A payee as another service sent it: the name; for a person also the masked ID, the look-up
    hash and the sealed ID, all bounded."""
    violations: list[FieldViolation] = []
    fields.PERSON_NAME.check(payee.name, f"{field}.name", violations)
    if payee.kind is not PayeeKind.PERSON:
        return violations
    fields.MASKED_RESIDENT_ID.check(payee.id_masked, f"{field}.id_masked", violations)
    fields.LOOKUP_HASH.check(payee.id_lookup, f"{field}.id_lookup", violations)
    if not isinstance(payee.id_sealed, bytes) or not 0 < len(payee.id_sealed) <= fields.MAX_SEALED_BYTES:
        violations.append(FieldViolation(f"{field}.id_sealed", f"must be 1-{fields.MAX_SEALED_BYTES} bytes"))
    return violations


def payout_outcome_violations(payout_request_id: str, claim_id: str, occurred_at: datetime | None,
                              occurred_field: str) -> list[FieldViolation]:
    """What an outcome reported by the ledger must hold before it is recorded."""
    violations: list[FieldViolation] = []
    fields.REFERENCE_ID.check(payout_request_id, "payout_request_id", violations)
    fields.REFERENCE_ID.check(claim_id, "claim_id", violations)
    if occurred_at is None:
        violations.append(FieldViolation(occurred_field, "is required"))
    elif occurred_at.tzinfo is None:
        violations.append(FieldViolation(occurred_field, "must carry a time zone"))
    return violations


def plain_reason(reason: str, default: str = "payout failed") -> str:
    """Another service's failure text as one plain, bounded line: kept (the failure matters more
    than its wording), but never with control or reordering characters."""
    text = "".join(" " if fields.hidden_characters(ch) else ch for ch in (reason if isinstance(reason, str) else ""))
    return " ".join(text.split())[:MAX_FAILURE_REASON_CHARS] or default


# How far ahead of its own attempt a claim looks when an outcome names a payout request it does
# not know: re-requests made after the backup a claim was restored from.
ATTEMPTS_A_RESTORE_MAY_HAVE_LOST = 5


@dataclass(frozen=True)
class PayoutRequested:
    payout_request_id: str
    claim_id: str
    line_id: str
    line_kind: LineKind
    attempt: int
    payee: Payee
    channel: str
    amount_fen: int
    fund_source: str
    references: dict
    requested_at: datetime


@dataclass
class ClaimLine:
    line_id: str
    kind: LineKind
    amount_fen: int
    state: LineState = LineState.OPEN
    attempt: int = 0
    failure_reason: str = ""
    paid_at: datetime | None = None
    rule: str = ""  # A2/A3/A4 for a voucher subsidy, A5 for a top-up
    rate_percent: int = 0  # the share of the standard this line pays
    # The cause of a voucher subsidy line: the voucher's redemption (the voucher id for the first).
    redemption_id: str = ""
    withdrawal_reason: str = ""

    @property
    def payout_request_id(self) -> str:
        return payout_request_id_for(self.line_id, self.attempt) if self.attempt else ""

    @property
    def live(self) -> bool:
        return self.state not in WITHDRAWN_LINE_STATES


@dataclass
class Claim(Aggregate):
    audit_type = "claim"

    claim_id: str
    kind: ClaimKind
    voucher_id: str
    payee: Payee
    institution_id: str
    occupation_code: str
    level: int
    fund_source: str
    created_at: datetime
    lines: list[ClaimLine] = field(default_factory=list)
    state: ClaimState = ClaimState.SUBMITTED
    approved_at: datetime | None = None
    paid_at: datetime | None = None
    payment_id: str | None = None  # the payout request that paid the claim's last line
    failure_reason: str | None = None
    standard_fen: int = 0  # the occupation standard the voucher's value came from (0: not stated)
    version: int = field(default=0, compare=False)

    @classmethod
    def for_redeemed_voucher(cls, voucher_id: str, payee: Payee, institution_id: str, occupation_code: str,
                             level: int, amount_fen: int, fund_source: str, now: datetime,
                             valuation_rule: str = "", rate_percent: int = 0, standard_fen: int = 0,
                             redemption_id: str = "") -> "Claim":
        """One claim per redeemed voucher, with one line per redemption for its fixed value (V3, F3),
        showing the rule and rate it was valued by (A2-A4).

        The line's id derives from the redemption; the first redemption's id is the voucher id, so
        a voucher redeemed once has the line (and payout request ids) it always had.
        """
        require(cls.voucher_claim_violations(voucher_id, payee, institution_id, occupation_code, level, amount_fen,
                                             fund_source, redemption_id)
                + valuation_violations(valuation_rule, rate_percent, standard_fen, amount_fen))
        voucher_id, institution_id = voucher_id.strip(), institution_id.strip()
        occupation_code, fund_source = occupation_code.strip(), fund_source.strip()
        claim = cls(claim_id_for_voucher(voucher_id), ClaimKind.VOUCHER, voucher_id, payee, institution_id,
                    occupation_code, level, fund_source, now, [], standard_fen=standard_fen)
        claim.lines.append(claim._voucher_line(redemption_id, amount_fen, valuation_rule, rate_percent))
        return claim

    def _voucher_line(self, redemption_id: str, amount_fen: int, rule: str = "", rate_percent: int = 0) -> ClaimLine:
        cause = redemption_id.strip() or self.voucher_id
        return ClaimLine(line_id_for(LineKind.VOUCHER_SUBSIDY, cause), LineKind.VOUCHER_SUBSIDY, amount_fen,
                         rule=rule, rate_percent=rate_percent, redemption_id=cause)

    @staticmethod
    def voucher_claim_violations(voucher_id: str, payee: Payee, institution_id: str, occupation_code: str,
                                 level: int, amount_fen: int, fund_source: str,
                                 redemption_id: str = "") -> list[FieldViolation]:
        """What voucher.redeemed must carry, by field kind, every bad field named at once.

        The event comes from another service, not a caller; a malformed one is refused here
        with named fields, before anything reaches the database.
        """
        violations: list[FieldViolation] = []
        fields.REFERENCE_ID.check(voucher_id, "voucher_id", violations)
        fields.REFERENCE_ID.check(redemption_id, "redemption_id", violations, required=False)
        violations += payee_violations(payee)
        fields.REFERENCE_ID.check(institution_id, "institution_id", violations)
        fields.OCCUPATION_CODE.check(occupation_code, "occupation_code", violations)
        if isinstance(level, bool) or not isinstance(level, int) or not HIGHEST_LEVEL <= level <= LOWEST_LEVEL:
            violations.append(FieldViolation("level", "must be between 1 and 5"))
        fields.SUBSIDY_FEN.check(amount_fen, "amount_fen", violations)
        if isinstance(fund_source, str) and not fund_source.strip():
            violations.append(FieldViolation("fund_source", "a claim must name its fund source (F3)"))
        else:
            fields.FUND_CODE.check(fund_source, "fund_source", violations)
        return violations

    def audit_id(self) -> str:
        return self.claim_id

    def audit_state(self) -> str:
        # A top-up line added to an approved claim is a change worth an audit record (A5); a payout
        # that settled after its line was withdrawn changes no claim state, but matters (X2).
        state = f"{self.state.value}+top_up" if self.top_up_line else self.state.value
        late = sum(1 for line in self.lines if line.state is LineState.PAID_AFTER_WITHDRAWAL)
        return state + (f":recovery_due{'_' + str(late) if late > 1 else ''}" if late else "")

    @property
    def top_up_line(self) -> ClaimLine | None:
        """The live redemption's top-up (a withdrawn redemption's top-up went with it)."""
        return next((line for line in self.lines if line.kind is LineKind.TOP_UP and line.live), None)

    def add_top_up(self, top_up_id: str, value_fen: int, top_up_fen: int, now: datetime) -> bool:
        """A5: one top-up line for the voucher's live redemption, its id derived from the top-up (and
        so from the redemption), so a redelivered or replayed top-up finds it (False: nothing
        changed). Never a second one: another top-up id while one is live is refused. An approved
        claim requests its payout at once; a submitted one pays it on approval; a rejected one never."""
        line_id = line_id_for(LineKind.TOP_UP, top_up_id)
        if any(line.line_id == line_id for line in self.lines):
            return False
        if self.top_up_line is not None:
            raise FailedPrecondition("A5: this voucher's claim already has a top-up; there is never a second one")
        subsidy_lines = [line for line in self.lines if line.kind is LineKind.VOUCHER_SUBSIDY and line.live]
        subsidy = sum(line.amount_fen for line in subsidy_lines)
        if subsidy != value_fen:
            raise FailedPrecondition(f"A5: the top-up tops up a value of {value_fen} fen, but this claim's voucher "
                                     f"subsidy is {subsidy} fen")
        if self.standard_fen and subsidy + top_up_fen > self.standard_fen:
            raise FailedPrecondition("A5: the subsidy and its top-up would exceed the standard")
        paid_rate = next((line.rate_percent for line in subsidy_lines), 0)
        line = ClaimLine(line_id, LineKind.TOP_UP, top_up_fen, rule=TOP_UP_RULE,
                         rate_percent=100 - paid_rate if paid_rate else 0)
        self.lines.append(line)
        if self.state in (ClaimState.APPROVED, ClaimState.PAID, ClaimState.PAYMENT_FAILED):
            if self.state is ClaimState.PAID:
                self.state = ClaimState.APPROVED  # paid again once the top-up settles
            self._request_payout(line, now)
        return True

    @property
    def amount_fen(self) -> int:
        """What the claim claims: its live lines (withdrawn ones no longer count)."""
        return sum(line.amount_fen for line in self.lines if line.live)

    @property
    def recovery_due_fen(self) -> int:
        """X2: paid for withdrawn lines; recovered through the ledger (a later issue)."""
        return sum(line.amount_fen for line in self.lines if line.state is LineState.PAID_AFTER_WITHDRAWAL)

    def line_for_redemption(self, redemption_id: str) -> ClaimLine | None:
        cause = redemption_id.strip() or self.voucher_id
        return next((line for line in self.lines if line.redemption_id == cause), None)

    def add_redemption(self, redemption_id: str, amount_fen: int, rule: str = "", rate_percent: int = 0) -> bool:
        """A voucher redeemed again after a rollback: a new line for the new redemption, to be approved
        (its payout request ids derive from the new line). False when the line exists (a replay)."""
        if self.line_for_redemption(redemption_id) is not None:
            return False
        violations: list[FieldViolation] = []
        fields.SUBSIDY_FEN.check(amount_fen, "amount_fen", violations)
        require(violations)
        self.lines.append(self._voucher_line(redemption_id, amount_fen, rule, rate_percent))
        self.state = ClaimState.SUBMITTED
        self.paid_at = None
        self.payment_id = None
        self.failure_reason = None
        return True

    def withdraw_line(self, redemption_id: str, reason: str) -> bool:
        """The redemption behind a line was rolled back (or its voucher revoked): the line is never
        requested again. A payout already requested may still settle (then a recovery is due) or
        fail (then nothing more happens). False when nothing changed (a replay, or no such line)."""
        line = self.line_for_redemption(redemption_id)
        if line is None or not line.live:
            return False
        # The redemption's A5 top-up (at most one live) goes with it.
        for withdrawn in [line] + ([self.top_up_line] if self.top_up_line else []):
            withdrawn.withdrawal_reason = reason
            if withdrawn.state is LineState.PAID:
                # Settled just before the rollback reached us: the money is out (X2).
                withdrawn.state = LineState.PAID_AFTER_WITHDRAWAL
                log.warning("claim %s: line %s withdrawn after its payout settled; a recovery is due (X2)",
                            self.claim_id, withdrawn.line_id)
            else:
                withdrawn.state = LineState.WITHDRAWN
        self._follow_lines()
        return True

    def _follow_lines(self) -> None:
        """The claim's state after a line left it: what its live lines say."""
        live = [line for line in self.lines if line.live]
        if not live:
            self.state = ClaimState.WITHDRAWN
            self.failure_reason = None
        elif any(line.state is LineState.PAYMENT_FAILED for line in live):
            self.state = ClaimState.PAYMENT_FAILED
        elif all(line.state is LineState.PAID for line in live):
            self.state = ClaimState.PAID
            self.failure_reason = None
        elif self.approved_at is not None:
            self.state = ClaimState.APPROVED
            self.failure_reason = None

    def line_for_payout(self, payout_request_id: str) -> ClaimLine | None:
        """The line this payout request pays, caught up to the request's attempt if it is ahead.

        A request id from an attempt later than the line knows was made by this claim before its
        database was restored from an older backup (a re-request after a failure): the ledger
        has it, so the line takes that attempt rather than ignoring what was paid. An outcome for
        an older attempt than the line's is stale and matches nothing.
        """
        for line in self.lines:
            for attempt in range(max(line.attempt, 1), line.attempt + ATTEMPTS_A_RESTORE_MAY_HAVE_LOST + 1):
                if payout_request_id_for(line.line_id, attempt) == payout_request_id:
                    if attempt > line.attempt and line.live:
                        line.attempt = attempt
                        line.state = LineState.PAYOUT_REQUESTED
                        if self.state is ClaimState.PAYMENT_FAILED:
                            self.state = ClaimState.APPROVED
                            self.failure_reason = None
                    return line
        return None

    def approve(self, now: datetime) -> None:
        """Approval asks the ledger to pay every open line."""
        if self.state is not ClaimState.SUBMITTED:
            raise FailedPrecondition(f"claim is {self.state.value}; only a submitted claim can be approved")
        self.state = ClaimState.APPROVED
        self.approved_at = now
        for line in self.lines:
            if line.state is LineState.OPEN:
                self._request_payout(line, now)

    def request_payout_again(self, now: datetime) -> None:
        """After a failed payout: a new attempt, hence a new payout request id; the old one stays failed."""
        failed = [line for line in self.lines if line.state is LineState.PAYMENT_FAILED]
        if self.state is not ClaimState.PAYMENT_FAILED or not failed:
            raise FailedPrecondition(f"claim is {self.state.value}; only a failed payout is requested again")
        self.state = ClaimState.APPROVED
        self.failure_reason = None
        for line in failed:
            self._request_payout(line, now)

    def _request_payout(self, line: ClaimLine, now: datetime) -> None:
        line.attempt += 1
        line.state = LineState.PAYOUT_REQUESTED
        line.failure_reason = ""
        # line_kind: the voucher service follows its voucher's own line, not a top-up's (A5).
        references = {"claim_id": self.claim_id, "claim_line_id": line.line_id, "line_kind": line.kind.value}
        if self.voucher_id:
            references["voucher_id"] = self.voucher_id
        if line.redemption_id:
            # voucher_svc tells a payout of the current redemption from one of a rolled-back one.
            references["redemption_id"] = line.redemption_id
        self.record(PayoutRequested(line.payout_request_id, self.claim_id, line.line_id, line.kind, line.attempt,
                                    self.payee, CHANNEL_FOR_PAYEE[self.payee.kind], line.amount_fen,
                                    self.fund_source, references, now))

    def payout_settled(self, payout_request_id: str, paid_at: datetime) -> bool:
        """A line was paid; the claim is paid once all are. False when nothing changed."""
        line = self.line_for_payout(payout_request_id)
        if line is None or line.state in (LineState.PAID, LineState.PAID_AFTER_WITHDRAWAL):
            return False
        if line.state is LineState.WITHDRAWN:
            # Requested before the withdrawal and paid all the same: recorded, recovered later (X2).
            line.state = LineState.PAID_AFTER_WITHDRAWAL
            line.paid_at = paid_at
            log.warning("claim %s: payout %s settled after its line was withdrawn; a recovery is due (X2)",
                        self.claim_id, payout_request_id)
            return True
        line.state = LineState.PAID
        line.paid_at = paid_at
        line.failure_reason = ""
        if all(other.state is LineState.PAID for other in self.lines if other.live):
            self.state = ClaimState.PAID
            self.paid_at = paid_at
            self.payment_id = payout_request_id
            self.failure_reason = None
        return True

    def payout_returned(self, payout_request_id: str, reason: str) -> bool:
        """A paid line's money came back from the bank (the ledger's payment.returned): the line is
        failed again with that reason, so the payout can be requested again (a new attempt). False
        when nothing changed (not this line's current payout, or not paid)."""
        line = self.line_for_payout(payout_request_id)
        if line is None or line.state is not LineState.PAID:
            return False
        line.state = LineState.PAYMENT_FAILED
        line.failure_reason = reason
        line.paid_at = None
        self.state = ClaimState.PAYMENT_FAILED
        self.failure_reason = reason
        self.paid_at = None
        return True

    def payout_failed(self, payout_request_id: str, reason: str) -> bool:
        line = self.line_for_payout(payout_request_id)
        if line is None or line.state is not LineState.PAYOUT_REQUESTED:
            return False
        line.state = LineState.PAYMENT_FAILED
        line.failure_reason = reason
        self.state = ClaimState.PAYMENT_FAILED
        self.failure_reason = reason
        return True
