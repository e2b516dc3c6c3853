"""The ledger's use cases: one handler per command, each owning its unit of work."""

from __future__ import annotations

import logging
from datetime import timedelta

from ledger_svc.domain import model, payout_transfers
from ledger_svc.domain.model import Fund, Payment, PaymentState
from ledger_svc.domain.transfers import (
    MAX_AMOUNT_FEN,
    MAX_USER_DATA_LENGTH,
    Transfer,
    TransferCode,
    TransferResult,
    apply_transfers,
    fund_accounts,
    transfer_id,
)
from ledger_svc.service_layer import bank_statements, commands, reconciliation
from ledger_svc.service_layer.transfer_batcher import MAX_BATCH, TransferBatcher
from ledger_svc.service_layer.unit_of_work import LedgerUnitOfWork
from skillpay.clock import Clock
from skillpay.ids import derived_id
from skillpay import fields
from skillpay.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, require
from skillpay.messagebus import command_name

log = logging.getLogger(__name__)


async def open_fund(cmd: commands.OpenFund, uow: LedgerUnitOfWork, clock: Clock) -> Fund:
    fund = Fund.open(cmd.fund_code, cmd.name, cmd.fund_type, clock.now())
    async with uow:
        if await uow.funds.get(fund.fund_code) is not None:
            raise AlreadyExists("this fund already exists")
        await uow.funds.add(fund)
        # F1: the fund's accounts in the transfer engine, one per role.
        await uow.transfers.add_accounts(fund_accounts(fund.fund_code), clock.now())
        await uow.commit()
    return fund


async def apply_in(uow: LedgerUnitOfWork, batch: list[Transfer], clock: Clock) -> tuple[TransferResult, ...]:
    """Apply ``batch`` in the caller's transaction (F1-F3): its accounts locked once, in one sorted
    order, one result per transfer. ``EXISTS`` counts as done: a replay or a restore moves nothing twice."""
    if not batch:
        return ()
    accounts, existing, pending = await uow.transfers.load_for(batch)
    outcome = apply_transfers(batch, accounts, existing, pending, clock.now())
    if outcome.created:
        await uow.transfers.save(outcome)
    return outcome.results


def _done(results) -> bool:
    return all(r.succeeded for r in results)


def _failure(results) -> TransferResult:
    return next((r for r in results if r not in (TransferResult.OK, TransferResult.EXISTS,
                                                 TransferResult.LINKED_EVENT_FAILED)),
                next(r for r in results if not r.succeeded))


async def allocate_budget(cmd: commands.AllocateBudget, uow: LedgerUnitOfWork, clock: Clock) -> Fund:
    """F1: an allocation transfer appropriation -> available; its id derives from the request."""
    violations: list[FieldViolation] = []
    fund_code = fields.FUND_CODE.check(cmd.fund_code, "fund_code", violations)
    fields.ALLOCATION_FEN.check(cmd.amount_fen, "amount_fen", violations)
    fields.MEMO.check(cmd.memo, "memo", violations, required=False)
    require(violations)
    async with uow:
        fund = await uow.funds.get(fund_code)
        if fund is None:
            raise NotFound("fund not found")
        if (await uow.funds.balances(fund_code)).allocated_fen + cmd.amount_fen > fields.MAX_BALANCE_FEN:
            # Bounded sums never come near int64; a fund this large is a typo, not a budget.
            raise FailedPrecondition(f"the fund would hold more than {fields.MAX_BALANCE_FEN} fen (F2)")
        # The allocation's id derives from the request that made it: a retry cannot allocate twice.
        # Its reference (the transfer's user data) names the request; a request id too long for
        # it is named by its digest.
        reference = f"budget:{cmd.actor.request_id}"
        if len(reference) > MAX_USER_DATA_LENGTH:
            reference = derived_id("budget", cmd.actor.request_id)
        results = await apply_in(uow, payout_transfers.allocation(fund_code, reference, cmd.amount_fen), clock)
        if results[0] is TransferResult.EXISTS_WITH_DIFFERENT_FIELDS:
            raise FailedPrecondition("this request id already allocated a different amount (F1)")
        if not _done(results):
            raise FailedPrecondition(f"the allocation was refused: {_failure(results).value} (F2)")
        await uow.commit()
    return fund


def unknown_fund_reason(fund_code: str) -> str:
    # The code came from another service's event: name it only when it is a plain, bounded code.
    violations: list[FieldViolation] = []
    code = fields.FUND_CODE.check(fund_code, "fund_code", violations)
    return f"unknown fund {code}: the ledger has no such fund source (F1)" if not violations else \
        "unknown fund: the ledger has no such fund source (F1)"


def claim_line_taken_reason(claim_line_id: str, live_payout_id: str) -> str:
    return (f"claim line {claim_line_id} already has payout {live_payout_id}, which is not failed or returned: "
            "a claim line is never paid twice")[:200]


async def request_payout(cmd: commands.RequestPayout, uow: LedgerUnitOfWork, clock: Clock) -> Payment:
    """payout.requested -> one payment per payout request id, awaiting funds (F3, C7).

    Only the payment is recorded: no account is touched here, so a burst of requests holds no fund's
    hot rows; the payout worker's next round commits funds for every awaiting payment in one batch.

    The id is the requester's, derived from what it pays for; a request that arrives again (a
    replayed event, a claim re-created after a restore) is refused and counted, never paid again.
    A request whose ``claim_line_id`` already has a live payout (one that is not failed or
    returned) fails at once with a reason naming that payout: a claim line is never paid twice,
    even when two attempts race (the payments' unique ``live_claim_line`` decides; the loser's
    retry sees the winner).
    """
    violations = model.payout_request_violations(cmd.payout_request_id, cmd.channel, cmd.fund_code, cmd.amount_fen,
                                                 cmd.payee, cmd.references)
    if violations:
        raise InvalidArgument(violations)
    async with uow:
        existing = await uow.payments.get(cmd.payout_request_id, for_update=True)
        if existing is not None:
            existing.refuse_duplicate_request()
            await uow.payments.save(existing)
            await uow.commit()
            log.warning("payout request %s is already known (%d repeat(s)); refused, not paid again",
                        cmd.payout_request_id, existing.duplicate_requests)
            return existing
        payment = Payment(cmd.payout_request_id, dict(cmd.references), cmd.channel, cmd.fund_code, cmd.amount_fen,
                          cmd.payee, clock.now())
        live = await uow.payments.live_for_claim_line(payment.claim_line_id) if payment.claim_line_id else None
        if live is not None:
            log.warning("payout request %s refused: claim line %s already has live payout %s",
                        payment.payment_id, payment.claim_line_id, live)
            payment.fail(claim_line_taken_reason(payment.claim_line_id, live), clock.now())
        await uow.payments.add(payment)
        await uow.commit()
    return payment


async def _payment(uow: LedgerUnitOfWork, payment_id: str) -> Payment:
    payment = await uow.payments.get(payment_id, for_update=True)
    if payment is None:
        raise NotFound("payment not found")
    return payment


async def commit_funds(cmd: commands.CommitFunds, uow: LedgerUnitOfWork, clock: Clock,
                       unknown_fund_hold: timedelta) -> list[str]:
    """Commitment transfers (available -> payables, PENDING; F2: never more than available) for every
    awaiting payment named, as one batch in one transaction; the ids of those that moved (committed,
    or failed for want of a fund). One that the fund cannot cover yet stays awaiting funds.

    A fund the ledger does not know cannot cover it. The payment waits for it a bounded time
    (``unknown_fund_hold``), then fails with that reason so the requester sees it rather than a
    payout that waits for ever. It does not fail at once: a ledger restored from a backup older
    than the fund meets payments the bank may already hold under their ids; failing them would let
    a re-request (a new id) pay again, while waiting lets finance re-open the fund and the same id
    reach the bank, which answers with what it did the first time.
    """
    moved: list[str] = []
    async with uow:
        waiting = [p for p in await uow.payments.get_many(cmd.payment_ids, for_update=True)
                   if p.state is PaymentState.AWAITING_FUNDS]
        known = {code: await uow.funds.get(code) is not None for code in sorted({p.fund_code for p in waiting})}
        batch, owners = [], []
        for p in waiting:
            if not known[p.fund_code]:
                if clock.now() - p.created_at >= unknown_fund_hold and p.fail(unknown_fund_reason(p.fund_code),
                                                                               clock.now()):
                    moved.append(p.payment_id)
                continue
            transfers = payout_transfers.commitment(p.fund_code, p.payment_id, p.amount_fen)
            owners.append((p, len(batch), len(transfers)))
            batch.extend(transfers)
        results = await apply_in(uow, batch, clock)
        for p, at, n in owners:
            mine = results[at:at + n]
            if _done(mine):
                p.funds_committed()
                moved.append(p.payment_id)
            elif _failure(mine) is not TransferResult.EXCEEDS_CREDITS:
                log.error("payment %s: its commitment was refused (%s); it stays awaiting funds",
                          p.payment_id, _failure(mine).value)
        if not moved:
            return []  # still short of budget: nothing changed
        for p in waiting:
            if p.payment_id in moved:
                await uow.payments.save(p)
        await uow.commit()
    return moved


async def start_submission(cmd: commands.StartSubmission, uow: LedgerUnitOfWork, clock: Clock) -> list[Payment]:
    """Marks every queued payment named submitted, and moves its amount into clearing (the commitment
    posted, linked with payables -> clearing), in one transaction committed before the bank is
    called: after a crash we ask the bank before sending again."""
    async with uow:
        queued = [p for p in await uow.payments.get_many(cmd.payment_ids, for_update=True)
                  if p.state is PaymentState.QUEUED]
        batch, spans = [], []
        for p in queued:
            transfers = payout_transfers.submission(p.fund_code, p.payment_id, p.amount_fen)
            spans.append((len(batch), len(transfers)))
            batch.extend(transfers)
        results = await apply_in(uow, batch, clock)
        started = []
        for p, (at, n) in zip(queued, spans, strict=True):
            mine = results[at:at + n]
            if not _done(mine):
                log.error("payment %s: its submission transfers were refused (%s); it stays queued",
                          p.payment_id, _failure(mine).value)
                continue
            p.submitting(clock.now())
            await uow.payments.save(p)
            started.append(p)
        if started:
            await uow.commit()
    return started


async def return_to_queue(cmd: commands.ReturnToQueue, uow: LedgerUnitOfWork) -> None:
    async with uow:
        for p in await uow.payments.get_many(cmd.payment_ids, for_update=True):
            before = p.state
            p.not_received_by_bank()
            if p.state is not before:
                await uow.payments.save(p)
        await uow.commit()


async def mark_in_doubt(cmd: commands.MarkInDoubt, uow: LedgerUnitOfWork) -> None:
    async with uow:
        for p in await uow.payments.get_many(cmd.payment_ids, for_update=True):
            before = p.state
            p.in_doubt()
            if p.state is not before:
                await uow.payments.save(p)
        await uow.commit()


class _Refused(Exception):
    """A bank answer the payment's state cannot take (strict callers raise it as FailedPrecondition)."""


async def apply_answers(uow: LedgerUnitOfWork, answers, clock: Clock, strict: bool = False) -> list[str]:
    """Apply the bank's answers (commands.BankAnswer) inside the caller's unit of work: the payments'
    state changes, their transfers as ONE batch and their events, together. Returns the ids of the
    payments that changed. An answer the payment cannot take is logged and left (``strict``: refused
    with FailedPrecondition). The same answer again changes nothing.

    settled   clearing -> disbursed (F3: the day it settled is the payment's date)
    failed    before submission: the commitment voided; after it: clearing -> available (X2: reversed)
    returned  (settled first if it was open) disbursed -> returned -> available; payment.returned
    """
    firsts: dict[str, object] = {}
    for a in answers:
        firsts.setdefault(a.payment_id, a)  # the bank answered twice: the first answer counts
    found = {p.payment_id: p for p in await uow.payments.get_many(firsts, for_update=True)}
    if strict and len(found) < len(firsts):
        raise NotFound("payment not found")
    submitted_before = await uow.transfers.known_ids(
        [transfer_id("submission", pid) for pid, p in found.items() if p.state is PaymentState.QUEUED])
    plans: list[tuple[Payment, object, list[Transfer]]] = []
    for pid, a in firsts.items():
        p = found.get(pid)
        if p is None:
            log.warning("the bank answered about payment %s, which the ledger does not have", pid)
            continue
        try:
            plans.append((p, a, _transfers_for(p, a, submitted_before)))
        except _Refused as exc:
            if strict:
                raise FailedPrecondition(str(exc)) from None
            log.warning("payment %s: %s; left as it is", pid, exc)
    batch = [t for _, _, ts in plans for t in ts]
    results = await apply_in(uow, batch, clock)
    changed: list[str] = []
    at = 0
    for p, a, ts in plans:
        mine, at = results[at:at + len(ts)], at + len(ts)
        if not _done(mine):
            log.error("payment %s: the transfers of the bank's %s answer were refused (%s); left as it is",
                      p.payment_id, a.state, _failure(mine).value)
            if strict:
                raise FailedPrecondition(f"the ledger refused the transfers: {_failure(mine).value}")
            continue
        if _change(p, a, clock):
            await uow.payments.save(p)
            changed.append(p.payment_id)
    return changed


_OPEN = (PaymentState.SUBMITTED, PaymentState.IN_DOUBT)


def _transfers_for(p: Payment, a, submitted_before: set[str]) -> list[Transfer]:
    """The transfers answer ``a`` makes for payment ``p`` (payout_transfers); raises _Refused."""
    fund, pid, amount = p.fund_code, p.payment_id, p.amount_fen
    if a.state == "settled":
        if p.state in (PaymentState.SETTLED, PaymentState.RETURNED):
            return []
        if p.state not in _OPEN:
            raise _Refused(f"payment is {p.state.value}; it cannot settle")
        return payout_transfers.settlement(fund, pid, amount)
    if a.state == "returned":
        if p.state is PaymentState.RETURNED:
            return []
        if p.state is PaymentState.SETTLED:
            return payout_transfers.returned(fund, pid, amount)
        if p.state in _OPEN:  # it came back, so the bank had paid it
            return payout_transfers.settlement(fund, pid, amount) + payout_transfers.returned(fund, pid, amount)
        raise _Refused(f"payment is {p.state.value}; only a settled payment is returned")
    if a.state == "failed":
        if p.state in (PaymentState.FAILED, PaymentState.SETTLED, PaymentState.RETURNED):
            return []
        if p.state is PaymentState.AWAITING_FUNDS:
            return []  # nothing committed
        if p.state is PaymentState.QUEUED and transfer_id("submission", pid) not in submitted_before:
            return payout_transfers.release_before_submission(fund, pid)
        return payout_transfers.release_after_submission(fund, pid, amount)
    if a.state in ("accepted", "in_doubt", "not_received"):
        return []
    raise _Refused(f"the bank's answer {a.state!r} is not one the ledger knows")


def _change(p: Payment, a, clock: Clock) -> bool:
    """The payment's own state change for answer ``a`` (its transfers are applied); True if it changed."""
    before = (p.state, p.bank_ref)
    if a.state == "settled":
        p.settle(a.bank_ref, a.settled_at or clock.now())
    elif a.state == "returned":
        p.settle(a.bank_ref, a.settled_at or a.returned_at or clock.now())
        p.returned(a.return_reason, a.returned_at or clock.now())
    elif a.state == "failed":
        p.fail(a.failure_reason or "failed at bank", clock.now())
    elif a.state == "in_doubt":
        p.in_doubt()
    elif a.state == "not_received":
        p.not_received_by_bank()
    else:  # accepted
        if p.state is PaymentState.IN_DOUBT or p.bank_ref != a.bank_ref:
            p.accepted(a.bank_ref)
    return (p.state, p.bank_ref) != before


async def apply_bank_answers(cmd: commands.ApplyBankAnswers, uow: LedgerUnitOfWork, clock: Clock) -> list[str]:
    """A bank batch's answers (or a round's status queries), all in one transaction."""
    async with uow:
        changed = await apply_answers(uow, cmd.answers, clock)
        if changed:
            await uow.commit()
    return changed


async def apply_bank_status(cmd: commands.ApplyBankStatus, uow: LedgerUnitOfWork, clock: Clock) -> bool:
    """What the bank says about one payment; True when it changed anything."""
    answer = commands.BankAnswer(cmd.payment_id, cmd.state, cmd.bank_ref, cmd.settled_at, cmd.failure_reason,
                                 cmd.returned_at, cmd.return_reason)
    async with uow:
        changed = await apply_answers(uow, [answer], clock, strict=True)
        if changed:
            await uow.commit()
    return bool(changed)


async def reconcile_statement(cmd: commands.ReconcileStatement, uow: LedgerUnitOfWork, clock: Clock,
                              statement_readers: dict) -> reconciliation.ReconcileResult:
    """The bank's statement of a fund and day against its payouts (F3, C7, X2); see service_layer/reconciliation.py."""
    return await reconciliation.reconcile_statement(cmd, uow, clock, statement_readers, apply_answers)


async def reconcile_from_bank(cmd: commands.ReconcileFromBank, uow: LedgerUnitOfWork, clock: Clock,
                              statement_readers: dict, fetch_statement) -> reconciliation.ReconcileResult:
    """The same with the bank's own statement file, fetched by the ledger; see service_layer/bank_statements.py."""
    return await bank_statements.reconcile_from_bank(cmd, uow, clock, statement_readers, fetch_statement,
                                                     reconcile_statement)
def transfer_violations(transfers) -> list[FieldViolation]:
    """Every field of every transfer that is malformed (too long, characters not allowed, an amount
    out of range, an unknown code), named by its place, never its value. What is well formed but
    not possible (an empty id, zero amount, unknown account, ...) is the engine's per-transfer result."""
    violations: list[FieldViolation] = []
    if not 0 < len(transfers) <= MAX_BATCH:
        violations.append(FieldViolation("transfers", f"must hold 1 to {MAX_BATCH} transfers"))
    for i, t in enumerate(transfers[:MAX_BATCH]):
        where = f"transfers[{i}]"
        fields.TRANSFER_ID.check(t.id, f"{where}.id", violations, required=False)
        fields.LEDGER_ACCOUNT_ID.check(t.debit_account_id, f"{where}.debit_account_id", violations, required=False)
        fields.LEDGER_ACCOUNT_ID.check(t.credit_account_id, f"{where}.credit_account_id", violations, required=False)
        fields.FUND_CODE.check(t.ledger, f"{where}.ledger", violations, required=False)
        fields.TRANSFER_ID.check(t.pending_id, f"{where}.pending_id", violations, required=False)
        fields.TRANSFER_USER_DATA.check(t.user_data, f"{where}.user_data", violations, required=False)
        if isinstance(t.amount, bool) or not isinstance(t.amount, int) or not 0 <= t.amount <= MAX_AMOUNT_FEN:
            violations.append(FieldViolation(f"{where}.amount", f"must be 0 to {MAX_AMOUNT_FEN} fen"))
        if not isinstance(t.code, TransferCode):
            violations.append(FieldViolation(f"{where}.code", "must be one of the transfer codes"))
    return violations


async def create_transfers(cmd: commands.CreateTransfers, uow: LedgerUnitOfWork,
                           batcher: TransferBatcher) -> list[TransferResult]:
    """F1-F3, X2: the transfers go to the engine through the group-commit queue, which owns the
    batch's unit of work (one transaction for every request in the batch). The actor goes with
    them: each transfer created is audited in that transaction, naming who asked (X2)."""
    require(transfer_violations(cmd.transfers))
    return await batcher.submit(cmd.transfers, cmd.actor, command_name(cmd))


HANDLERS = {
    commands.OpenFund: open_fund,
    commands.AllocateBudget: allocate_budget,
    commands.RequestPayout: request_payout,
    commands.CommitFunds: commit_funds,
    commands.StartSubmission: start_submission,
    commands.ReturnToQueue: return_to_queue,
    commands.MarkInDoubt: mark_in_doubt,
    commands.ApplyBankStatus: apply_bank_status,
    commands.ApplyBankAnswers: apply_bank_answers,
    commands.ReconcileStatement: reconcile_statement,
    commands.ReconcileFromBank: reconcile_from_bank,
    commands.CreateTransfers: create_transfers,
}
