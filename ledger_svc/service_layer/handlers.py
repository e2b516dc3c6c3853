"""The ledger's use cases: one handler per command, each owning its unit of work."""

from __future__ import annotations

import logging
from datetime import timedelta

from ledger_svc.domain import model
from ledger_svc.domain.model import Fund, InsufficientFunds, Payment, PaymentState
from ledger_svc.domain.transfers import MAX_AMOUNT_FEN, TransferCode, TransferResult, fund_accounts
from ledger_svc.service_layer import bank_statements, commands, reconciliation
from ledger_svc.service_layer.transfer_batcher import MAX_BATCH, TransferBatcher
from ledger_svc.service_layer.unit_of_work import LedgerUnitOfWork
from skillpay.clock import Clock
from skillpay import fields
from skillpay.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, require

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


async def allocate_budget(cmd: commands.AllocateBudget, uow: LedgerUnitOfWork, clock: Clock) -> Fund:
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
        await uow.journal.post(model.allocation(cmd.fund_code, cmd.amount_fen, f"budget:{cmd.actor.request_id}",
                                                clock.now()))
        await uow.commit()
    return fund


def unknown_fund_reason(fund_code: str) -> str:
    # The code came from another service's event: name it only when it is a plain, bounded code.
    violations: list[FieldViolation] = []
    code = fields.FUND_CODE.check(fund_code, "fund_code", violations)
    return f"unknown fund {code}: the ledger has no such fund source (F1)" if not violations else \
        "unknown fund: the ledger has no such fund source (F1)"


async def _try_commit_funds(uow: LedgerUnitOfWork, payment: Payment, clock: Clock,
                            unknown_fund_hold: timedelta) -> bool:
    """Move the payment's amount from available to payable; False if the fund cannot cover it (F2).

    A fund the ledger does not know cannot cover it. The payment waits for it a bounded time
    (``unknown_fund_hold``), then fails with that reason so the requester sees it rather than a
    payout that waits for ever. It does not fail at once: a ledger restored from a backup older
    than the fund meets payments the bank may already hold under their ids; failing them would let
    a re-request (a new id) pay again, while waiting lets finance re-open the fund and the same id
    reach the bank, which answers with what it did the first time.
    """
    if await uow.funds.get(payment.fund_code) is None:
        if clock.now() - payment.created_at >= unknown_fund_hold:
            payment.fail(unknown_fund_reason(payment.fund_code), clock.now())
        return False
    try:
        await uow.journal.post(model.commitment(payment.fund_code, payment.amount_fen, payment.payment_id,
                                                clock.now()))
    except InsufficientFunds:
        return False
    payment.funds_committed()
    return True


async def request_payout(cmd: commands.RequestPayout, uow: LedgerUnitOfWork, clock: Clock,
                         unknown_fund_hold: timedelta) -> Payment:
    """payout.requested -> one payment per payout request id, its amount committed from the named fund.

    The id is the requester's, derived from what it pays for; a request that arrives again (a
    replayed event, a claim re-created after a restore) is refused and counted, never paid again.
    A fund that cannot cover it yet leaves the payment awaiting funds: nothing is overdrawn. A
    fund the ledger does not know fails it once it has waited ``unknown_fund_hold`` (payment.failed
    names the reason).
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
        await _try_commit_funds(uow, payment, clock, unknown_fund_hold)
        await uow.payments.add(payment)
        await uow.commit()
    return payment


async def _payment(uow: LedgerUnitOfWork, payment_id: str) -> Payment:
    payment = await uow.payments.get(payment_id, for_update=True)
    if payment is None:
        raise NotFound("payment not found")
    return payment


async def commit_funds(cmd: commands.CommitFunds, uow: LedgerUnitOfWork, clock: Clock,
                       unknown_fund_hold: timedelta) -> bool:
    async with uow:
        payment = await _payment(uow, cmd.payment_id)
        if payment.state is not PaymentState.AWAITING_FUNDS:
            return False
        await _try_commit_funds(uow, payment, clock, unknown_fund_hold)
        if payment.state is PaymentState.AWAITING_FUNDS:
            return False  # still short of budget: nothing changed
        await uow.payments.save(payment)
        await uow.commit()
    return True  # committed, or failed for want of a fund


async def start_submission(cmd: commands.StartSubmission, uow: LedgerUnitOfWork, clock: Clock) -> Payment | None:
    """Recorded and committed before the bank is called: after a crash we ask the bank before sending again."""
    async with uow:
        payment = await _payment(uow, cmd.payment_id)
        if payment.state is not PaymentState.PENDING:
            return None
        payment.submitting(clock.now())
        await uow.payments.save(payment)
        await uow.commit()
    return payment


async def return_to_pending(cmd: commands.ReturnToPending, uow: LedgerUnitOfWork) -> None:
    async with uow:
        payment = await _payment(uow, cmd.payment_id)
        payment.not_received_by_bank()
        await uow.payments.save(payment)
        await uow.commit()


async def mark_in_doubt(cmd: commands.MarkInDoubt, uow: LedgerUnitOfWork) -> None:
    async with uow:
        payment = await _payment(uow, cmd.payment_id)
        payment.in_doubt()
        await uow.payments.save(payment)
        await uow.commit()


async def apply_bank_status(cmd: commands.ApplyBankStatus, uow: LedgerUnitOfWork, clock: Clock) -> bool:
    """What the bank says about a payment; True when it changed anything."""
    async with uow:
        payment = await _payment(uow, cmd.payment_id)
        if cmd.state == "settled":
            settled_at = cmd.settled_at or clock.now()
            changed = payment.settle(cmd.bank_ref, settled_at)
            if changed:
                await uow.journal.post(model.disbursement(payment.fund_code, payment.amount_fen, payment.payment_id,
                                                          settled_at))
        elif cmd.state == "failed":
            committed = payment.state is not PaymentState.AWAITING_FUNDS
            changed = payment.fail(cmd.failure_reason or "failed at bank", clock.now())
            if changed and committed:
                # X2 style: a reversing entry gives the money back to the fund; nothing is deleted.
                await uow.journal.post(model.release(payment.fund_code, payment.amount_fen, payment.payment_id,
                                                     clock.now()))
        else:
            changed = payment.state is PaymentState.IN_DOUBT or payment.bank_ref != cmd.bank_ref
            if changed:
                payment.accepted(cmd.bank_ref)
        if changed:
            await uow.payments.save(payment)
            await uow.commit()
    return changed


async def reconcile_statement(cmd: commands.ReconcileStatement, uow: LedgerUnitOfWork, clock: Clock,
                              statement_readers: dict) -> reconciliation.ReconcileResult:
    """The bank's statement of a fund and day against its payouts (F3, C7, X2); see service_layer/reconciliation.py."""
    return await reconciliation.reconcile_statement(cmd, uow, clock, statement_readers, apply_bank_status)


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
    batch's unit of work (one transaction for every request in the batch)."""
    require(transfer_violations(cmd.transfers))
    return await batcher.submit(cmd.transfers)


HANDLERS = {
    commands.OpenFund: open_fund,
    commands.AllocateBudget: allocate_budget,
    commands.RequestPayout: request_payout,
    commands.CommitFunds: commit_funds,
    commands.StartSubmission: start_submission,
    commands.ReturnToPending: return_to_pending,
    commands.MarkInDoubt: mark_in_doubt,
    commands.ApplyBankStatus: apply_bank_status,
    commands.ReconcileStatement: reconcile_statement,
    commands.ReconcileFromBank: reconcile_from_bank,
    commands.CreateTransfers: create_transfers,
}
