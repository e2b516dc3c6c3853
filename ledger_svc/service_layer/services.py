"""Use cases of the ledger service. Each runs inside a unit of work the caller commits."""

from __future__ import annotations

from datetime import datetime

from ledger_svc.adapters.repository import InsufficientFunds
from ledger_svc.domain import model
from ledger_svc.domain.model import Fund, FundType, Payee, Payment, PaymentState
from skillpay.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from skillpay.ids import new_id


async def open_fund(uow, fund_code: str, name: str, fund_type: FundType | None, now: datetime) -> Fund:
    fund = Fund.open(fund_code, name, fund_type, now)
    if await uow.funds.get(fund_code) is not None:
        raise AlreadyExists(f"fund {fund_code} already exists")
    await uow.funds.add(fund)
    return fund


async def _fund(uow, fund_code: str) -> Fund:
    fund = await uow.funds.get(fund_code)
    if fund is None:
        raise NotFound(f"fund {fund_code} not found")
    return fund


async def allocate_budget(uow, fund_code: str, amount_fen: int, reference: str, now: datetime) -> Fund:
    if amount_fen <= 0:
        raise InvalidArgument([FieldViolation("amount_fen", "must be a positive amount in fen")])
    fund = await _fund(uow, fund_code)
    await uow.journal.post(model.allocation(new_id("je"), fund_code, amount_fen, reference, now))
    return fund


async def try_commit_funds(uow, payment: Payment, now: datetime) -> bool:
    """Move the payment's amount from available to payable; False if the fund cannot cover it (F2)."""
    if await uow.funds.get(payment.fund_code) is None:
        return False
    try:
        await uow.journal.post(model.commitment(new_id("je"), payment.fund_code, payment.amount_fen,
                                                payment.payment_id, now))
    except InsufficientFunds:
        return False
    payment.funds_committed()
    return True


async def payment_for_approved_claim(uow, claim_id: str, voucher_id: str, channel: str, fund_code: str,
                                     amount_fen: int, payee: Payee, now: datetime) -> Payment:
    """claim.approved -> one payment per claim, with its amount committed from the named fund.

    A fund that cannot cover it yet leaves the payment awaiting funds: nothing is overdrawn and
    nothing is lost; it proceeds when budget arrives.
    """
    existing = await uow.payments.get_by_claim(claim_id)
    if existing is not None:
        return existing
    payment = Payment(new_id("pay"), claim_id, voucher_id, channel, fund_code, amount_fen, payee, now)
    await try_commit_funds(uow, payment, now)
    await uow.payments.add(payment)
    return payment


async def settle_payment(uow, payment: Payment, bank_ref: str, settled_at: datetime) -> None:
    if payment.settle(bank_ref, settled_at):
        await uow.journal.post(model.disbursement(new_id("je"), payment.fund_code, payment.amount_fen,
                                                  payment.payment_id, settled_at))


async def fail_payment(uow, payment: Payment, reason: str, now: datetime) -> None:
    committed = payment.state not in (PaymentState.AWAITING_FUNDS,)
    if payment.fail(reason, now) and committed:
        # X2 style: a reversing entry gives the money back to the fund; nothing is deleted.
        await uow.journal.post(model.release(new_id("je"), payment.fund_code, payment.amount_fen,
                                             payment.payment_id, now))
