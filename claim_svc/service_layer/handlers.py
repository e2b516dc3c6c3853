"""The claim service's use cases: one handler per command, each owning its unit of work."""

from __future__ import annotations

import logging

from claim_svc.domain.model import (
    Claim,
    ClaimState,
    claim_id_for_voucher,
    payout_outcome_violations,
    plain_reason,
    top_up_violations,
)
from claim_svc.service_layer import commands
from claim_svc.service_layer.unit_of_work import ClaimUnitOfWork, PayoutOutcome, PendingTopUp, PendingWithdrawal
from skillpay import fields
from skillpay.clock import Clock
from skillpay.errors import FailedPrecondition, FieldViolation, NotFound, require

log = logging.getLogger(__name__)


def _apply(claim: Claim, outcome: PayoutOutcome) -> bool:
    if outcome.settled:
        return claim.payout_settled(outcome.payout_request_id, outcome.occurred_at)
    return claim.payout_failed(outcome.payout_request_id, outcome.reason)


async def create_voucher_claim(cmd: commands.CreateVoucherClaim, uow: ClaimUnitOfWork, clock: Clock,
                               auto_approve: bool) -> Claim:
    """voucher.redeemed -> the voucher's claim. Its id derives from the voucher, so a replay finds it.

    A claim re-created after this service lost its database gets the same ids again, and
    outcomes the ledger reported before the claim was back are applied to it at once.
    Until the review workflow (C3-C6) exists, claims are approved on creation (``auto_approve``).
    """
    now = clock.now()
    require(Claim.voucher_claim_violations(cmd.voucher_id, cmd.payee, cmd.institution_id, cmd.occupation_code,
                                           cmd.level, cmd.amount_fen, cmd.fund_source, cmd.redemption_id))
    async with uow:
        existing = await uow.claims.get(claim_id_for_voucher(cmd.voucher_id.strip()), for_update=True)
        if existing is not None:
            # Redeemed again after a rollback: a line of its own; the same redemption again: a replay.
            if not existing.add_redemption(cmd.redemption_id, cmd.amount_fen, cmd.valuation_rule, cmd.rate_percent):
                return existing
            claim = existing
        else:
            claim = Claim.for_redeemed_voucher(cmd.voucher_id, cmd.payee, cmd.institution_id, cmd.occupation_code,
                                               cmd.level, cmd.amount_fen, cmd.fund_source, now, cmd.valuation_rule,
                                               cmd.rate_percent, cmd.standard_fen, cmd.redemption_id)
        # X2: a rollback that arrived first withdraws its line before anything is requested.
        for withdrawal in await uow.pending_withdrawals.for_claim(claim.claim_id):
            claim.withdraw_line(withdrawal.redemption_id, withdrawal.reason)
        if auto_approve and claim.state is ClaimState.SUBMITTED:
            claim.approve(now)
        # A5: a top-up that arrived first (a replay, a re-created claim) is part of the claim now.
        for top_up in await uow.pending_top_ups.for_claim(claim.claim_id):
            try:
                claim.add_top_up(top_up.top_up_id, top_up.value_fen, top_up.top_up_fen, now)
            except FailedPrecondition:
                # Another redemption's top-up (one rolled back since): not this claim's to pay.
                log.info("kept top-up %s does not fit claim %s's live redemption; left unpaid",
                         top_up.top_up_id, claim.claim_id)
        for outcome in await uow.payout_outcomes.for_claim(claim.claim_id):
            _apply(claim, outcome)
        if existing is not None:
            await uow.claims.save(claim)
        else:
            await uow.claims.add(claim)
        await uow.commit()
    return claim


async def add_top_up_line(cmd: commands.AddTopUpLine, uow: ClaimUnitOfWork, clock: Clock) -> Claim | None:
    """voucher.topped_up -> one TOP_UP line on the voucher's claim (A5), paid at once if approved.

    The line's id derives from the top-up's, so a redelivered, replayed or retried top-up finds
    it and changes nothing. A top-up whose claim is not there yet is kept; the claim takes it
    when it is created.
    """
    violations = top_up_violations(cmd.top_up_id, cmd.voucher_id, cmd.value_fen, cmd.top_up_fen, cmd.standard_fen)
    if cmd.topped_up_at is None:
        violations.append(FieldViolation("topped_up_at", "is required"))
    require(violations)
    top_up_id, voucher_id = cmd.top_up_id.strip(), cmd.voucher_id.strip()
    now = clock.now()
    async with uow:
        claim = await uow.claims.get(claim_id_for_voucher(voucher_id), for_update=True)
        if claim is None:
            if await uow.pending_top_ups.add(PendingTopUp(top_up_id, voucher_id, claim_id_for_voucher(voucher_id),
                                                          cmd.value_fen, cmd.top_up_fen, cmd.topped_up_at)):
                log.info("top-up %s arrived before its claim; kept until the claim is created", top_up_id)
            await uow.commit()
            return None
        if claim.add_top_up(top_up_id, cmd.value_fen, cmd.top_up_fen, now):
            await uow.claims.save(claim)
        await uow.commit()
    return claim


async def withdraw_claim_line(cmd: commands.WithdrawClaimLine, uow: ClaimUnitOfWork, clock: Clock) -> Claim | None:
    """A rolled-back redemption's line is withdrawn: never requested again; a payout of it that
    settles later is recorded as paid after withdrawal (X2: recovery due). A replay changes nothing."""
    violations: list[FieldViolation] = []
    voucher_id = fields.REFERENCE_ID.check(cmd.voucher_id, "voucher_id", violations)
    fields.REFERENCE_ID.check(cmd.redemption_id, "redemption_id", violations, required=False)
    require(violations)
    reason = plain_reason(cmd.reason, default="withdrawn")
    async with uow:
        claim_id = claim_id_for_voucher(voucher_id)
        claim = await uow.claims.get(claim_id, for_update=True)
        if claim is None:
            # The redemption's claim is not here yet (its voucher.redeemed was parked, or is late):
            # kept, so the claim withdraws the line as it is created and a replay never pays it.
            if await uow.pending_withdrawals.add(PendingWithdrawal(voucher_id, cmd.redemption_id.strip(), claim_id,
                                                                   reason, clock.now())):
                log.info("withdrawal for voucher %s arrived before its claim; kept until the claim is created",
                         voucher_id)
                await uow.commit()
            return None
        if claim.withdraw_line(cmd.redemption_id, reason):
            await uow.claims.save(claim)
            await uow.commit()
    return claim


async def _record_outcome(uow: ClaimUnitOfWork, outcome: PayoutOutcome) -> None:
    async with uow:
        if not await uow.payout_outcomes.record(outcome):
            await uow.commit()
            return
        claim = await uow.claims.get(outcome.claim_id, for_update=True)
        if claim is None:
            log.info("payout %s reported before its claim is known; kept until the claim is created",
                     outcome.payout_request_id)
        elif _apply(claim, outcome):
            await uow.claims.save(claim)
        await uow.commit()


async def record_payout_settled(cmd: commands.RecordPayoutSettled, uow: ClaimUnitOfWork) -> None:
    require(payout_outcome_violations(cmd.payout_request_id, cmd.claim_id, cmd.settled_at, "settled_at"))
    await _record_outcome(uow, PayoutOutcome(cmd.payout_request_id.strip(), cmd.claim_id.strip(), True, "",
                                             cmd.settled_at))


async def record_payout_failed(cmd: commands.RecordPayoutFailed, uow: ClaimUnitOfWork) -> None:
    require(payout_outcome_violations(cmd.payout_request_id, cmd.claim_id, cmd.failed_at, "failed_at"))
    await _record_outcome(uow, PayoutOutcome(cmd.payout_request_id.strip(), cmd.claim_id.strip(), False,
                                             plain_reason(cmd.reason), cmd.failed_at))


async def record_payout_returned(cmd: commands.RecordPayoutReturned, uow: ClaimUnitOfWork) -> None:
    """The ledger's payment.returned: the paid line fails again with the bank's reason, so it can be
    requested again. Not kept with the outcomes (they hold one per payout request, the first): a
    claim re-created after a restore reads the return again from the ledger's topic, after its
    settlement."""
    require(payout_outcome_violations(cmd.payout_request_id, cmd.claim_id, cmd.returned_at, "returned_at"))
    async with uow:
        claim = await uow.claims.get(cmd.claim_id.strip(), for_update=True)
        if claim is not None and claim.payout_returned(cmd.payout_request_id.strip(), plain_reason(cmd.reason)):
            await uow.claims.save(claim)
        await uow.commit()


async def request_payout_again(cmd: commands.RequestPayoutAgain, uow: ClaimUnitOfWork, clock: Clock) -> Claim:
    async with uow:
        claim = await uow.claims.get(cmd.claim_id, for_update=True)
        if claim is None:
            raise NotFound("claim not found")
        claim.request_payout_again(clock.now())
        await uow.claims.save(claim)
        await uow.commit()
    return claim


HANDLERS = {
    commands.CreateVoucherClaim: create_voucher_claim,
    commands.AddTopUpLine: add_top_up_line,
    commands.WithdrawClaimLine: withdraw_claim_line,
    commands.RecordPayoutSettled: record_payout_settled,
    commands.RecordPayoutFailed: record_payout_failed,
    commands.RecordPayoutReturned: record_payout_returned,
    commands.RequestPayoutAgain: request_payout_again,
}
