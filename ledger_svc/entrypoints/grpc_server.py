"""The LedgerService gRPC server process: ``python -m ledger_svc.entrypoints.grpc_server``."""

from __future__ import annotations

import functools
from pathlib import Path

from ledger_svc.adapters.events import to_outgoing
from ledger_svc.adapters.payments import build_payment_adapters
from ledger_svc.adapters.unit_of_work import LedgerUnitOfWork
from ledger_svc.config import LedgerSettings
from ledger_svc.domain.model import Payee
from ledger_svc.entrypoints import mappers
from ledger_svc.service_layer import services
from ledger_svc.service_layer.payouts import PayoutWorker
from skillpay.clock import utcnow
from skillpay.errors import NotFound
from skillpay.events.v1 import events_pb2
from skillpay.grpc_server import idempotent
from skillpay.kafka import CLAIM_EVENTS, LEDGER_EVENTS
from skillpay.ledger.v1 import ledger_pb2 as pb
from skillpay.ledger.v1 import ledger_pb2_grpc
from skillpay.paging import decode_token, page_size, split_page
from skillpay.pii import PiiVault
from skillpay.service_runtime import ServiceRuntime, main_for, prepare_database, run_service

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class LedgerServicer(ledger_pb2_grpc.LedgerServiceServicer):
    def __init__(self, uow_factory):
        self._uow = uow_factory

    async def _fund_message(self, uow, fund_code: str) -> pb.Fund:
        fund = await uow.funds.get(fund_code)
        if fund is None:
            raise NotFound(f"fund {fund_code} not found")
        return mappers.fund(fund, await uow.funds.balances(fund_code))

    async def OpenFund(self, request, context):
        async def action(uow):
            f = await services.open_fund(uow, request.fund_code, request.name,
                                         mappers.FUND_TYPE_FROM_PB.get(request.fund_type), utcnow())
            return await self._fund_message(uow, f.fund_code)
        return await idempotent(self._uow, "OpenFund", request, pb.Fund, action)

    async def AllocateBudget(self, request, context):
        async def action(uow):
            await services.allocate_budget(uow, request.fund_code, request.amount_fen,
                                           f"budget:{request.request_id}", utcnow())
            return await self._fund_message(uow, request.fund_code)
        return await idempotent(self._uow, "AllocateBudget", request, pb.Fund, action)

    async def GetFund(self, request, context):
        async with self._uow(read_only=True) as uow:
            return await self._fund_message(uow, request.fund_code)

    async def ListFunds(self, request, context):
        limit = page_size(request.page_size)
        async with self._uow(read_only=True) as uow:
            items = await uow.funds.list(decode_token(request.page_token), limit + 1)
            page, token = split_page(items, limit, lambda last: last.fund_code)
            messages = [mappers.fund(f, await uow.funds.balances(f.fund_code)) for f in page]
        return pb.ListFundsResponse(funds=messages, next_page_token=token)

    async def ListJournalEntries(self, request, context):
        limit = page_size(request.page_size)
        async with self._uow(read_only=True) as uow:
            items = await uow.journal.list(decode_token(request.page_token), limit + 1, request.fund_code)
        page, token = split_page(items, limit, lambda last: last.entry_id)
        return pb.ListJournalEntriesResponse(entries=[mappers.entry(e) for e in page], next_page_token=token)

    async def GetPayment(self, request, context):
        async with self._uow(read_only=True) as uow:
            p = await uow.payments.get(request.payment_id)
        if p is None:
            raise NotFound(f"payment {request.payment_id} not found")
        return mappers.payment(p)

    async def ListPayments(self, request, context):
        limit = page_size(request.page_size)
        state = mappers.PAYMENT_STATE_FROM_PB.get(request.state)
        async with self._uow(read_only=True) as uow:
            items = await uow.payments.list(decode_token(request.page_token), limit + 1, request.claim_id,
                                            request.voucher_id, state)
        page, token = split_page(items, limit, lambda last: last.payment_id)
        return pb.ListPaymentsResponse(payments=[mappers.payment(p) for p in page], next_page_token=token)


async def on_claim_approved(envelope: events_pb2.EventEnvelope, uow) -> None:
    e = events_pb2.ClaimApproved.FromString(envelope.payload)
    payee = Payee(e.payee.name, e.payee.id_masked, e.payee.id_sealed)
    await services.payment_for_approved_claim(uow, e.claim_id, e.voucher_id, e.channel, e.fund_source,
                                              e.amount_fen, payee, utcnow())


async def start(settings: LedgerSettings) -> None:
    db = await prepare_database(settings, MIGRATIONS)
    runtime = ServiceRuntime(settings, db)
    uow_factory = functools.partial(LedgerUnitOfWork, db, settings.service_name, to_outgoing, runtime.wake_relay)
    adapters = build_payment_adapters(settings.bank_url, settings.bank_timeout_s)
    payouts = PayoutWorker(uow_factory, adapters, PiiVault.from_settings(settings), settings.payout_poll_interval_s)

    def add_servicers(server):
        ledger_pb2_grpc.add_LedgerServiceServicer_to_server(LedgerServicer(uow_factory), server)
        return [pb.DESCRIPTOR.services_by_name["LedgerService"].full_name]

    try:
        await run_service(runtime, produces=[LEDGER_EVENTS], consumes=[CLAIM_EVENTS],
                          handlers={"claim.approved": on_claim_approved}, uow_factory=uow_factory,
                          add_servicers=add_servicers, extra_background=[payouts.run])
    finally:
        await payouts.stop()
        for adapter in adapters.values():
            await adapter.aclose()


def main() -> None:
    main_for(LedgerSettings(), start)


if __name__ == "__main__":
    main()
