"""The LedgerService gRPC server process: ``python -m ledger_svc.entrypoints.grpc_server``.

Entrypoints only translate: requests and claim_svc's payout requests become commands for the
bus; funds, entries and payments become replies.
"""

from __future__ import annotations

import asyncio
import functools

from ledger_svc import bootstrap
from ledger_svc.config import LedgerSettings
from ledger_svc.domain.model import Payee
from ledger_svc.entrypoints import mappers
from ledger_svc.service_layer import commands
from ledger_svc.service_layer import reports as report_queries
from ledger_svc.service_layer.reconciliation import MAX_STATEMENT_BYTES
from skillpay import fields
from skillpay.errors import DomainError, FieldViolation, InvalidArgument, NotFound, require
from skillpay.events.v1 import events_pb2
from skillpay.grpc_server import caller, list_audit_records
from skillpay.kafka import CLAIM_EVENTS, LEDGER_EVENTS, actor_for_event
from skillpay.ledger.v1 import ledger_pb2 as pb
from skillpay.ledger.v1 import ledger_pb2_grpc
from skillpay.logs import request_id_var
from skillpay.messagebus import MessageBus, Reply
from skillpay.paging import bound_scope, decode_token, encode_token, page_size, split_page
from skillpay.service_runtime import from_date, from_ts, main_for, run_service

MAX_ACCOUNT_IDS = 500


def _account_ids(values, violations: list[FieldViolation], field: str = "account_ids") -> list[str]:
    """Bounded account ids; a violation naming each offending one by its place."""
    if not 0 < len(values) <= MAX_ACCOUNT_IDS:
        violations.append(FieldViolation(field, f"must hold 1 to {MAX_ACCOUNT_IDS} account ids"))
    return [fields.LEDGER_ACCOUNT_ID.check(v, f"{field}[{i}]", violations)
            for i, v in enumerate(values[:MAX_ACCOUNT_IDS])]


def _day(message, name: str, violations: list[FieldViolation]):
    """A google.type.Date field as a date (None when unset); a bad one is a violation naming it."""
    try:
        return from_date(getattr(message, name), message.HasField(name), name)
    except InvalidArgument as bad:
        violations.extend(bad.violations)
        return None


def _known(value: int, table: dict, name: str, violations: list[FieldViolation], allow_unset: bool = False):
    if value in table:
        return table[value]
    if not (allow_unset and value == 0):
        violations.append(FieldViolation(name, "is not one of the formats this RPC offers"))
    return None


async def _drain(request_iterator) -> None:
    """Read what a refused upload still sends, so its client gets the reason rather than a broken
    stream (grpc/grpc#36066, see skillpay.grpc_server._first_message)."""
    async for _ in request_iterator:
        pass


class LedgerServicer(ledger_pb2_grpc.LedgerServiceServicer):
    def __init__(self, bus: MessageBus, uow_factory, statement_max_bytes: int = MAX_STATEMENT_BYTES,
                 files: bootstrap.ReportFiles | None = None):
        self._bus = bus
        self._uow = uow_factory
        self._statement_max_bytes = statement_max_bytes
        self._files = files or bootstrap.ReportFiles()
        self._reconcile_reply = Reply.protobuf(pb.ReconcileResponse, functools.partial(
            mappers.reconcile_response, report_files=self._files.reconciliation_files))

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

    # -- the transfer engine (issue 8) -------------------------------------------------------
    async def CreateTransfers(self, request, context):
        # The request has no request_id field: the id the server logs this call under names it
        # on each transfer's audit record.
        rid = request_id_var.get()
        actor = caller().for_request("" if rid == "-" else rid)  # "-": the log's "no request id"
        results = await self._bus.handle(commands.CreateTransfers(
            actor=actor, transfers=tuple(mappers.transfer_from_pb(t) for t in request.transfers)))
        return mappers.results(results)

    async def LookupAccounts(self, request, context):
        self._bus.authorize(caller(), "LookupAccounts")
        violations: list[FieldViolation] = []
        ids = _account_ids(request.account_ids, violations)
        require(violations)
        async with self._uow(read_only=True) as uow:
            found = await uow.transfers.accounts(ids)
        return pb.LookupAccountsResponse(accounts=[mappers.account(a) for a in found])

    async def GetAccountHistory(self, request, context):
        self._bus.authorize(caller(), "GetAccountHistory")
        violations: list[FieldViolation] = []
        account_id = fields.LEDGER_ACCOUNT_ID.check(request.account_id, "account_id", violations)
        require(violations)
        limit = page_size(request.page_size)
        scope = bound_scope("account_history", {"account_id": account_id})
        after = decode_token(request.page_token, scope)
        async with self._uow(read_only=True) as uow:
            items = await uow.transfers.history(account_id, int(after or 0), limit + 1)
        page = items[:limit]
        token = encode_token(str(page[-1][0]), scope) if len(items) > limit else ""
        return pb.GetAccountHistoryResponse(transfers=[mappers.transfer(t, seq) for seq, t in page],
                                            next_page_token=token)

    async def GetBalancesAsOf(self, request, context):
        self._bus.authorize(caller(), "GetBalancesAsOf")
        violations: list[FieldViolation] = []
        ids = _account_ids(request.account_ids, violations)
        try:
            as_of = from_ts(request.as_of, request.HasField("as_of"), "as_of")
        except InvalidArgument as bad:
            as_of = bad
            violations.extend(bad.violations)
        if as_of is None:
            violations.append(FieldViolation("as_of", "is required"))
        require(violations)
        async with self._uow(read_only=True) as uow:
            totals = await uow.transfers.balances_as_of(ids, as_of)
        return pb.GetBalancesAsOfResponse(balances=[mappers.balance(i, v) for i, v in sorted(totals.items())],
                                          as_of=request.as_of)

    async def VerifyLedger(self, request, context):
        self._bus.authorize(caller(), "VerifyLedger")
        async with self._uow(read_only=True) as uow:
            differences, accounts_checked, transfers_checked = await uow.transfers.verify()
        return mappers.verification(differences, accounts_checked, transfers_checked)


    # -- reports (issue 8) ------------------------------------------------------------------------
    async def GetTrialBalance(self, request, context):
        self._bus.authorize(caller(), "GetTrialBalance")
        return mappers.trial_balance(await report_queries.trial_balance(self._uow(read_only=True)))

    async def GetFundStatement(self, request, context):
        self._bus.authorize(caller(), "GetFundStatement")
        violations: list[FieldViolation] = []
        from_day, to_day = _day(request, "from_day", violations), _day(request, "to_day", violations)
        fmt = _known(request.format, mappers.REPORT_FORMAT_FROM_PB, "format", violations, allow_unset=True)
        report_queries.check_period(request.fund_code, from_day, to_day, violations)
        require(violations)
        data = await report_queries.fund_statement(self._uow(read_only=True), request.fund_code, from_day, to_day)
        yield pb.FundStatementPart(statement=mappers.fund_statement(data.statement))
        if fmt is None:
            return
        pieces = self._files.statement_pieces(data, fmt)
        # Made in a worker thread, one chunk at a time: a year of transfers must not stall the loop.
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            yield pb.FundStatementPart(chunk=mappers.file_chunk(piece))

    async def GetFundChart(self, request, context):
        self._bus.authorize(caller(), "GetFundChart")
        violations: list[FieldViolation] = []
        from_day, to_day = _day(request, "from_day", violations), _day(request, "to_day", violations)
        fmt = _known(request.format, mappers.CHART_FORMAT_FROM_PB, "format", violations)
        report_queries.check_period(request.fund_code, from_day, to_day, violations)
        require(violations)
        days = await report_queries.fund_chart(self._uow(read_only=True), request.fund_code, from_day, to_day)
        name, media_type, data = await asyncio.to_thread(self._files.chart, days, request.fund_code, fmt)
        return pb.GetFundChartResponse(file_name=name, media_type=media_type, data=data,
                                       days=[mappers.day_figures(d) for d in days])

    # -- reconciliation (issue 8) -------------------------------------------------------------------
    async def ReconcileStatement(self, request_iterator, context):
        first = await anext(aiter(request_iterator), None)
        try:
            # Checked once the first message is in (a stream refused before it has written
            # anything would see INTERNAL instead of the reason).
            actor = self._bus.authorize(caller(), "ReconcileStatement")
            if first is None:
                raise InvalidArgument("the upload is empty: the first message names fund, day and format",
                                      field="fund_code")
            violations: list[FieldViolation] = []
            fields.FUND_CODE.check(first.fund_code, "fund_code", violations)
            day = _day(first, "day", violations)
            if not first.HasField("day"):
                violations.append(FieldViolation("day", "is required (an Asia/Shanghai calendar day)"))
            fmt = _known(first.format, mappers.STATEMENT_FORMAT_FROM_PB, "format", violations)
            require(violations)
        except DomainError:
            await _drain(request_iterator)
            raise

        async def chunks():
            yield first.chunk
            async for message in request_iterator:
                if message.request_id or message.fund_code or message.HasField("day") or message.format:
                    raise InvalidArgument("only the first message names the statement; the others carry its "
                                          "bytes", field="chunk")
                yield message.chunk

        async with self._files.spooled(chunks(), self._statement_max_bytes) as statement:
            return await self._bus.handle(commands.ReconcileStatement(
                actor=actor.for_request(first.request_id.strip()), fund_code=first.fund_code, day=day,
                format=fmt, content=statement), reply=self._reconcile_reply)

    async def ReconcileFromBank(self, request, context):
        violations: list[FieldViolation] = []
        day = _day(request, "day", violations)
        require(violations)
        # Not kept per request id: it fetches the bank's file again and changes nothing done already.
        result = await self._bus.handle(commands.ReconcileFromBank(actor=caller(request), fund_code=request.fund_code,
                                                                   day=day))
        return await asyncio.to_thread(mappers.reconcile_response, result, self._files.reconciliation_files)


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
        servicer = LedgerServicer(process.bus, process.uow_factory, process.runtime.settings.statement_max_bytes)
        ledger_pb2_grpc.add_LedgerServiceServicer_to_server(servicer, server)
        return [pb.DESCRIPTOR.services_by_name["LedgerService"].full_name]

    try:
        await run_service(process.runtime, produces=[LEDGER_EVENTS], consumes=[CLAIM_EVENTS], translators=TRANSLATORS,
                          bus=process.bus, uow_factory=process.uow_factory, add_servicers=add_servicers,
                          extra_background=[process.payouts.run])
    finally:
        await process.payouts.stop()
        await process.batcher.close()
        for adapter in process.adapters.values():
            await adapter.aclose()


def main() -> None:
    main_for(LedgerSettings(), start)


if __name__ == "__main__":
    main()
