"""Use cases of the claim service. Each runs inside a unit of work the caller commits."""

from __future__ import annotations

from datetime import datetime

from claim_svc.domain.model import Claim, Payee
from skillpay.ids import new_id


async def claim_redeemed_voucher(uow, voucher_id: str, payee: Payee, institution_id: str, occupation_code: str,
                                 level: int, amount_fen: int, fund_source: str, now: datetime,
                                 auto_approve: bool = True) -> Claim:
    """voucher.redeemed -> one claim for the voucher (a second event finds it and does nothing).

    Until the review workflow (C3-C6) exists, claims for redeemed vouchers are approved on
    creation; ``auto_approve`` is the switch that workflow will turn off.
    """
    existing = await uow.claims.get_by_voucher(voucher_id)
    if existing is not None:
        return existing
    claim = Claim.for_redeemed_voucher(new_id("clm"), voucher_id, payee, institution_id, occupation_code, level,
                                       amount_fen, fund_source, now)
    if auto_approve:
        claim.approve(now)
    await uow.claims.add(claim)
    return claim


async def record_payment_settled(uow, claim_id: str, payment_id: str, settled_at: datetime) -> None:
    claim = await uow.claims.get(claim_id, for_update=True)
    if claim is not None and claim.mark_paid(payment_id, settled_at):
        await uow.claims.save(claim)


async def record_payment_failed(uow, claim_id: str, payment_id: str, reason: str) -> None:
    claim = await uow.claims.get(claim_id, for_update=True)
    if claim is not None and claim.mark_payment_failed(payment_id, reason):
        await uow.claims.save(claim)
