"""The LedgerService gRPC server process: ``python -m ledger_svc.entrypoints.grpc_server``.

Entrypoints only translate: requests and claim_svc's payout requests become commands for the
bus; funds, entries and payments become replies.
"""

from __future__ import annotations

from ledger_svc import bootstrap
from ledger_svc.config import LedgerSettings
from ledger_svc.domain.model import Payee
from ledger_svc.entrypoints import mappers
from ledger_svc.service_layer import commands
from skillpay.errors import InvalidArgument, NotFound
from skillpay.events.v1 import events_pb2
from skillpay.grpc_server import caller, list_audit_records
from skillpay.kafka import CLAIM_EVENTS, LEDGER_EVENTS, actor_for_event
from skillpay.ledger.v1 import ledger_pb2 as pb
from skillpay.ledger.v1 import ledger_pb2_grpc
from skillpay.messagebus import MessageBus, Reply
from skillpay.paging import decode_token, page_size, split_page
from skillpay.service_runtime import main_for, run_service


class LedgerServicer(ledger_pb2_grpc.LedgerServiceServicer):
    def __init__(self, bus: MessageBus, uow_factory):
        self._bus = bus
        self._uow = uow_factory

    async def _fund_message(self, fund_code: str) -> pb.Fund:
        async with self._uow(read_only=True) as uow:
            fund = await uow.funds.get(fund_code)
            if fund is None:
                raise NotFound("fund not found")
            return mappers.fund(fund, await uow.funds.balances(fund_code))

    async def OpenFund(self, request, context):
        fund = await self._bus.handle(commands.OpenFund(
            actor=caller(request), fund_code=request.fund_code, name=request.name,
            fund_type=mappers.FUND_TYPE_FROM_PB.get(request.fund_type)),
            reply=Reply.protobuf(pb.Fund, lambda f: pb.Fund(fund_code=f.fund_code)))
        # The balances are read after the commit: they are the fund's, not the request's.
        return await self._fund_message(fund.fund_code)

    async def AllocateBudget(self, request, context):
        fund = await self._bus.handle(commands.AllocateBudget(
            actor=caller(request), fund_code=request.fund_code, amount_fen=request.amount_fen, memo=request.memo),
            reply=Reply.protobuf(pb.Fund, lambda f: pb.Fund(fund_code=f.fund_code)))
        return await self._fund_message(fund.fund_code)

    async def GetFund(self, request, context):
        self._bus.authorize(caller(), "GetFund")
        return await self._fund_message(request.fund_code)

    async def ListFunds(self, request, context):
        self._bus.authorize(caller(), "ListFunds")
        limit = page_size(request.page_size)
        async with self._uow(read_only=True) as uow:
            items = await uow.funds.list(decode_token(request.page_token, "funds"), limit + 1)
            page, token = split_page(items, limit, lambda last: last.fund_code, "funds")
            messages = [mappers.fund(f, await uow.funds.balances(f.fund_code)) for f in page]
        return pb.ListFundsResponse(funds=messages, next_page_token=token)

    async def ListJournalEntries(self, request, context):
        self._bus.authorize(caller(), "ListJournalEntries")
        limit = page_size(request.page_size)
        async with self._uow(read_only=True) as uow:
            items = await uow.journal.list(decode_token(request.page_token, "journal"), limit + 1, request.fund_code)
        page, token = split_page(items, limit, lambda last: last.entry_id, "journal")
        return pb.ListJournalEntriesResponse(entries=[mappers.entry(e) for e in page], next_page_token=token)

    async def GetPayment(self, request, context):
        self._bus.authorize(caller(), "GetPayment")
        async with self._uow(read_only=True) as uow:
            p = await uow.payments.get(request.payment_id)
        if p is None:
            raise NotFound("payment not found")
        return mappers.payment(p)

    async def ListPayments(self, request, context):
        self._bus.authorize(caller(), "ListPayments")
        limit = page_size(request.page_size)
        state = mappers.PAYMENT_STATE_FROM_PB.get(request.state)
        if bool(request.reference_key) != bool(request.reference_value):
            raise InvalidArgument("reference_key and reference_value go together", field="reference_key")
        reference = (request.reference_key, request.reference_value) if request.reference_key else None
        async with self._uow(read_only=True) as uow:
            items = await uow.payments.list(decode_token(request.page_token, "payments"), limit + 1, state, reference)
        page, token = split_page(items, limit, lambda last: last.payment_id, "payments")
        return pb.ListPaymentsResponse(payments=[mappers.payment(p) for p in page], next_page_token=token)

    async def ListAuditRecords(self, request, context):
        return await list_audit_records(self._uow, self._bus, request)


def on_payout_requested(envelope: events_pb2.EventEnvelope):
    e = events_pb2.PayoutRequested.FromString(envelope.payload)
    return commands.RequestPayout(
        actor=actor_for_event(envelope),
        payout_request_id=e.payout_request_id, channel=e.channel, fund_code=e.fund_source, amount_fen=e.amount_fen,
        payee=Payee(e.payee.name, e.payee.id_masked, e.payee.id_sealed, card_number=e.payee.card_number,
                    account_number=e.payee.account_number, bank_code=e.payee.bank_code),
        references=dict(e.references))


TRANSLATORS = {"payout.requested": on_payout_requested}


async def start(settings: LedgerSettings) -> None:
    process = await bootstrap.for_process(settings)

    def add_servicers(server):
        ledger_pb2_grpc.add_LedgerServiceServicer_to_server(LedgerServicer(process.bus, process.uow_factory), server)
        return [pb.DESCRIPTOR.services_by_name["LedgerService"].full_name]

    try:
        await run_service(process.runtime, produces=[LEDGER_EVENTS], consumes=[CLAIM_EVENTS], translators=TRANSLATORS,
                          bus=process.bus, uow_factory=process.uow_factory, add_servicers=add_servicers,
                          extra_background=[process.payouts.run])
    finally:
        await process.payouts.stop()
        for adapter in process.adapters.values():
            await adapter.aclose()


def main() -> None:
    main_for(LedgerSettings(), start)


if __name__ == "__main__":
    main()
