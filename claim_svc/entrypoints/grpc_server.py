"""The ClaimService gRPC server process: ``python -m claim_svc.entrypoints.grpc_server``.

Entrypoints only translate: requests and events from the voucher and ledger services become
commands for the bus; claims become replies.
"""

from __future__ import annotations

from datetime import timezone

from claim_svc import bootstrap
from claim_svc.config import ClaimSettings
from claim_svc.domain.model import Payee, PayeeKind
from claim_svc.entrypoints import mappers
from claim_svc.service_layer import commands
from skillpay.claim.v1 import claim_pb2 as pb
from skillpay.claim.v1 import claim_pb2_grpc
from skillpay.errors import NotFound
from skillpay.events.v1 import events_pb2
from skillpay.grpc_server import caller, list_audit_records
from skillpay.kafka import CLAIM_EVENTS, LEDGER_EVENTS, VOUCHER_EVENTS, actor_for_event
from skillpay.messagebus import MessageBus, Reply
from skillpay.paging import decode_token, page_size, split_page
from skillpay.service_runtime import from_ts, main_for, run_service

CLAIM = Reply.protobuf(pb.Claim, mappers.claim)


class ClaimServicer(claim_pb2_grpc.ClaimServiceServicer):
    def __init__(self, bus: MessageBus, uow_factory):
        self._bus = bus
        self._uow = uow_factory

    async def GetClaim(self, request, context):
        self._bus.authorize(caller(), "GetClaim")
        async with self._uow(read_only=True) as uow:
            c = await uow.claims.get(request.claim_id)
        if c is None:
            raise NotFound("claim not found")
        return mappers.claim(c)

    async def ListClaims(self, request, context):
        self._bus.authorize(caller(), "ListClaims")
        limit = page_size(request.page_size)
        state = mappers.CLAIM_STATE_FROM_PB.get(request.state)
        async with self._uow(read_only=True) as uow:
            items = await uow.claims.list(decode_token(request.page_token, "claims"), limit + 1, request.voucher_id, state)
        page, token = split_page(items, limit, lambda last: last.claim_id, "claims")
        return pb.ListClaimsResponse(claims=[mappers.claim(c) for c in page], next_page_token=token)

    async def RequestPayoutAgain(self, request, context):
        return await self._bus.handle(commands.RequestPayoutAgain(actor=caller(request), claim_id=request.claim_id),
                                      reply=CLAIM)

    async def ListAuditRecords(self, request, context):
        return await list_audit_records(self._uow, self._bus, request)



def on_voucher_redeemed(envelope: events_pb2.EventEnvelope):
    e = events_pb2.VoucherRedeemed.FromString(envelope.payload)
    payee = Payee(PayeeKind.PERSON, e.holder.name, e.holder.id_masked, e.holder.id_sealed, e.holder.id_lookup)
    return commands.CreateVoucherClaim(
        actor=actor_for_event(envelope), voucher_id=e.voucher_id, payee=payee, institution_id=e.institution_id,
        occupation_code=e.occupation_code, level=e.level, amount_fen=e.value_fen, fund_source=e.fund_source,
        redeemed_at=from_ts(e.redeemed_at, e.HasField("redeemed_at"), "redeemed_at"),
        valuation_rule=e.valuation_rule, rate_percent=e.rate_percent, standard_fen=e.standard_fen,
        redemption_id=e.redemption_id)


def on_voucher_topped_up(envelope: events_pb2.EventEnvelope):
    e = events_pb2.VoucherToppedUp.FromString(envelope.payload)
    return commands.AddTopUpLine(
        actor=actor_for_event(envelope), top_up_id=e.top_up_id, voucher_id=e.voucher_id, value_fen=e.value_fen,
        top_up_fen=e.top_up_fen, standard_fen=e.standard_fen,
        topped_up_at=from_ts(e.topped_up_at, e.HasField("topped_up_at"), "topped_up_at"))


def on_redemption_rolled_back(envelope: events_pb2.EventEnvelope):
    e = events_pb2.VoucherRedemptionRolledBack.FromString(envelope.payload)
    return commands.WithdrawClaimLine(actor=actor_for_event(envelope), voucher_id=e.voucher_id,
                                      redemption_id=e.redemption_id, reason=e.reason)


def on_voucher_revoked(envelope: events_pb2.EventEnvelope):
    e = events_pb2.VoucherRevoked.FromString(envelope.payload)
    if not e.withdrawn_redemption_id:
        # Nothing unpaid to withdraw. A recovery due after payment is the ledger's (a later issue).
        return None
    return commands.WithdrawClaimLine(actor=actor_for_event(envelope), voucher_id=e.voucher_id,
                                      redemption_id=e.withdrawn_redemption_id, reason=e.reason)


def on_payment_settled(envelope: events_pb2.EventEnvelope):
    e = events_pb2.PaymentSettled.FromString(envelope.payload)
    if "claim_id" not in e.references:
        return None  # a payment for something other than a claim
    return commands.RecordPayoutSettled(
        actor=actor_for_event(envelope), payout_request_id=e.payment_id, claim_id=e.references["claim_id"],
        settled_at=from_ts(e.settled_at, e.HasField("settled_at"), "settled_at") or envelope.occurred_at.ToDatetime(tzinfo=timezone.utc))


def on_payment_failed(envelope: events_pb2.EventEnvelope):
    e = events_pb2.PaymentFailed.FromString(envelope.payload)
    if "claim_id" not in e.references:
        return None
    return commands.RecordPayoutFailed(
        actor=actor_for_event(envelope), payout_request_id=e.payment_id, claim_id=e.references["claim_id"],
        reason=e.reason, failed_at=from_ts(e.failed_at, e.HasField("failed_at"), "failed_at")
        or envelope.occurred_at.ToDatetime(tzinfo=timezone.utc))


def on_payment_returned(envelope: events_pb2.EventEnvelope):
    e = events_pb2.PaymentReturned.FromString(envelope.payload)
    if "claim_id" not in e.references:
        return None
    return commands.RecordPayoutReturned(
        actor=actor_for_event(envelope), payout_request_id=e.payment_id, claim_id=e.references["claim_id"],
        reason=e.reason, returned_at=from_ts(e.returned_at, e.HasField("returned_at"), "returned_at")
        or envelope.occurred_at.ToDatetime(tzinfo=timezone.utc))


TRANSLATORS = {"voucher.redeemed": on_voucher_redeemed, "voucher.topped_up": on_voucher_topped_up,
               "voucher.redemption_rolled_back": on_redemption_rolled_back, "voucher.revoked": on_voucher_revoked,
               "payment.settled": on_payment_settled,
               "payment.failed": on_payment_failed,
               "payment.returned": on_payment_returned}


async def start(settings: ClaimSettings) -> None:
    process = await bootstrap.for_process(settings)

    def add_servicers(server):
        claim_pb2_grpc.add_ClaimServiceServicer_to_server(ClaimServicer(process.bus, process.uow_factory), server)
        return [pb.DESCRIPTOR.services_by_name["ClaimService"].full_name]

    await run_service(process.runtime, produces=[CLAIM_EVENTS], consumes=[VOUCHER_EVENTS, LEDGER_EVENTS],
                      translators=TRANSLATORS, bus=process.bus, uow_factory=process.uow_factory,
                      add_servicers=add_servicers)


def main() -> None:
    main_for(ClaimSettings(), start)


if __name__ == "__main__":
    main()
