"""The ClaimService gRPC server process: ``python -m claim_svc.entrypoints.grpc_server``."""

from __future__ import annotations

import functools
from pathlib import Path

from claim_svc.adapters.events import to_outgoing
from claim_svc.adapters.unit_of_work import ClaimUnitOfWork
from claim_svc.config import ClaimSettings
from claim_svc.domain.model import Payee, PayeeKind
from claim_svc.entrypoints import mappers
from claim_svc.service_layer import services
from skillpay.claim.v1 import claim_pb2 as pb
from skillpay.claim.v1 import claim_pb2_grpc
from skillpay.clock import utcnow
from skillpay.errors import NotFound
from skillpay.events.v1 import events_pb2
from skillpay.kafka import CLAIM_EVENTS, LEDGER_EVENTS, VOUCHER_EVENTS
from skillpay.paging import decode_token, page_size, split_page
from skillpay.service_runtime import ServiceRuntime, from_ts, main_for, prepare_database, run_service

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class ClaimServicer(claim_pb2_grpc.ClaimServiceServicer):
    def __init__(self, uow_factory):
        self._uow = uow_factory

    async def GetClaim(self, request, context):
        async with self._uow(read_only=True) as uow:
            c = await uow.claims.get(request.claim_id)
        if c is None:
            raise NotFound(f"claim {request.claim_id} not found")
        return mappers.claim(c)

    async def ListClaims(self, request, context):
        limit = page_size(request.page_size)
        state = mappers.CLAIM_STATE_FROM_PB.get(request.state)
        async with self._uow(read_only=True) as uow:
            items = await uow.claims.list(decode_token(request.page_token), limit + 1, request.voucher_id, state)
        page, token = split_page(items, limit, lambda last: last.claim_id)
        return pb.ListClaimsResponse(claims=[mappers.claim(c) for c in page], next_page_token=token)


def build_handlers(settings: ClaimSettings):
    async def on_voucher_redeemed(envelope: events_pb2.EventEnvelope, uow) -> None:
        e = events_pb2.VoucherRedeemed.FromString(envelope.payload)
        payee = Payee(PayeeKind.PERSON, e.holder.name, e.holder.id_masked, e.holder.id_sealed, e.holder.id_lookup)
        await services.claim_redeemed_voucher(uow, e.voucher_id, payee, e.institution_id, e.occupation_code,
                                              e.level, e.value_fen, e.fund_source, utcnow(), settings.auto_approve)

    async def on_payment_settled(envelope: events_pb2.EventEnvelope, uow) -> None:
        e = events_pb2.PaymentSettled.FromString(envelope.payload)
        await services.record_payment_settled(uow, e.claim_id, e.payment_id,
                                              from_ts(e.settled_at, e.HasField("settled_at")) or utcnow())

    async def on_payment_failed(envelope: events_pb2.EventEnvelope, uow) -> None:
        e = events_pb2.PaymentFailed.FromString(envelope.payload)
        await services.record_payment_failed(uow, e.claim_id, e.payment_id, e.reason)

    return {"voucher.redeemed": on_voucher_redeemed, "payment.settled": on_payment_settled,
            "payment.failed": on_payment_failed}


async def start(settings: ClaimSettings) -> None:
    db = await prepare_database(settings, MIGRATIONS)
    runtime = ServiceRuntime(settings, db)
    uow_factory = functools.partial(ClaimUnitOfWork, db, settings.service_name, to_outgoing, runtime.wake_relay)

    def add_servicers(server):
        claim_pb2_grpc.add_ClaimServiceServicer_to_server(ClaimServicer(uow_factory), server)
        return [pb.DESCRIPTOR.services_by_name["ClaimService"].full_name]

    await run_service(runtime, produces=[CLAIM_EVENTS], consumes=[VOUCHER_EVENTS, LEDGER_EVENTS],
                      handlers=build_handlers(settings), uow_factory=uow_factory, add_servicers=add_servicers)


def main() -> None:
    main_for(ClaimSettings(), start)


if __name__ == "__main__":
    main()
