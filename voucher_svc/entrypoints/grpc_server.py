"""The VoucherService gRPC server process: ``python -m voucher_svc.entrypoints.grpc_server``.

Entrypoints only translate: a request becomes a command for the bus, a domain object becomes a
reply; events from the ledger become commands too (``TRANSLATORS``).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date

from skillpay.actors import Actor
from skillpay.clock import Clock, SystemClock, shanghai_date
from skillpay.errors import NotFound
from skillpay.events.v1 import events_pb2
from skillpay.grpc_server import caller, list_audit_records
from skillpay.ids import derived_id
from skillpay.kafka import LEDGER_EVENTS, VOUCHER_EVENTS, actor_for_event
from skillpay.messagebus import MessageBus, Reply
from skillpay.paging import bound_scope, decode_token, page_size, split_page
from skillpay.service_runtime import from_date, from_ts, main_for, run_service, settle_gc
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc
from voucher_svc import bootstrap
from voucher_svc.config import VoucherSettings
from voucher_svc.domain.catalogue_query import InstitutionFilter, OccupationFilter
from voucher_svc.entrypoints import mappers
from voucher_svc.entrypoints.expiry import ExpirySweeper
from voucher_svc.service_layer import commands
from voucher_svc.service_layer.batch_identities import ChunkIdentities
from voucher_svc.service_layer.queries import VoucherQueries, shows_bank_account

OCCUPATION = Reply.protobuf(pb.Occupation, mappers.occupation)
INSTITUTION = Reply.protobuf(pb.Institution, mappers.institution)
VOUCHER = Reply.protobuf(pb.Voucher, mappers.voucher)
CERTIFICATE = Reply.protobuf(pb.Certificate, mappers.certificate)
BATCH = Reply.protobuf(pb.Batch, mappers.batch)
BATCH_PROGRESS = Reply.protobuf(pb.BatchProgress, mappers.batch_progress)
PERSON = Reply.protobuf(pb.Person, mappers.person)  # masked only: the admin setting groups is not the person
PRESENTATION = Reply.protobuf(pb.PresentationToken, mappers.presentation)
EMPLOYMENT = Reply.protobuf(pb.EmploymentRecord, mappers.employment)
EXPIRED_COUNT = Reply.protobuf(pb.ExpireDueVouchersResponse, lambda n: pb.ExpireDueVouchersResponse(expired_count=n))


class VoucherServicer(voucher_pb2_grpc.VoucherServiceServicer):
    def __init__(self, bus: MessageBus, uow_factory, queries: VoucherQueries, clock: Clock | None = None,
                 chunk_identities: ChunkIdentities | None = None):
        self._bus = bus
        self._chunk_identities = chunk_identities
        self._uow = uow_factory
        self._queries = queries
        self._clock = clock or SystemClock()

    def _reader(self, query: str) -> Actor:
        return self._bus.authorize(caller(), query)

    async def RegisterOccupation(self, request, context):
        return await self._bus.handle(commands.RegisterOccupation(
            actor=caller(request), code=request.code, name=request.name, level=request.level,
            subsidy_standard_fen=request.subsidy_standard_fen, new_occupation=request.new_occupation,
            min_class_hours=request.min_class_hours, practical_oriented=request.practical_oriented,
            region=request.region,
            effective_from=from_date(request.effective_from, request.HasField("effective_from"), "effective_from")),
            reply=OCCUPATION)

    async def ReviseOccupation(self, request, context):
        return await self._bus.handle(commands.ReviseOccupation(
            actor=caller(request), code=request.code, level=request.level, name=request.name,
            subsidy_standard_fen=request.subsidy_standard_fen, new_occupation=request.new_occupation,
            min_class_hours=request.min_class_hours, practical_oriented=request.practical_oriented,
            region=request.region,
            effective_from=from_date(request.effective_from, request.HasField("effective_from"), "effective_from")),
            reply=OCCUPATION)

    async def ListOccupations(self, request, context):
        self._reader("ListOccupations")
        limit = page_size(request.page_size)
        filters = OccupationFilter.checked(
            request.code_prefix, request.level, request.region,
            from_date(request.in_force_on, request.HasField("in_force_on"), "in_force_on"))
        scope = bound_scope("occupations", filters.binding())
        after = decode_token(request.page_token, scope)
        # The day is the filter's, else the one the first page was listed for (in the token), else today.
        on = filters.in_force_on or (date.fromisoformat(after.split("|")[0]) if after else None) \
            or shanghai_date(self._clock.now())
        key = None
        if after:
            _, code, level = after.split("|")
            key = (code, int(level))
        async with self._uow(read_only=True) as uow:
            items = await uow.occupations.list(key, limit + 1, on, filters)
        page, token = split_page(items, limit, lambda last: f"{on.isoformat()}|{last.code}|{last.level}", scope)
        return pb.ListOccupationsResponse(occupations=[mappers.occupation(o) for o in page], next_page_token=token)

    async def RegisterInstitution(self, request, context):
        return await self._bus.handle(commands.RegisterInstitution(
            actor=caller(request), name=request.name, credit_code=request.credit_code, address=request.address,
            occupation_codes=tuple(request.occupation_codes),
            nature=mappers.INSTITUTION_NATURE_FROM_PB.get(request.nature), region=request.region,
            bank_account=mappers.bank_account(request.bank_account) if request.HasField("bank_account") else None),
            reply=INSTITUTION)

    async def ListInstitutions(self, request, context):
        reader = self._reader("ListInstitutions")
        limit = page_size(request.page_size)
        filters = InstitutionFilter.checked(mappers.INSTITUTION_STATUS_FROM_PB.get(request.status), request.region,
                                            request.occupation_code, request.name_contains)
        scope = bound_scope("institutions", filters.binding())
        async with self._uow(read_only=True) as uow:
            items = await uow.institutions.list(decode_token(request.page_token, scope), limit + 1, filters)
        page, token = split_page(items, limit, lambda last: last.institution_id, scope)
        return pb.ListInstitutionsResponse(
            institutions=[mappers.institution(i, shows_bank_account(reader, i.institution_id)) for i in page],
            next_page_token=token)

    async def SuspendInstitution(self, request, context):
        return await self._bus.handle(commands.SuspendInstitution(
            actor=caller(request), institution_id=request.institution_id, reason=request.reason), reply=INSTITUTION)

    async def ReinstateInstitution(self, request, context):
        return await self._bus.handle(commands.ReinstateInstitution(
            actor=caller(request), institution_id=request.institution_id), reply=INSTITUTION)

    async def RemoveInstitution(self, request, context):
        return await self._bus.handle(commands.RemoveInstitution(
            actor=caller(request), institution_id=request.institution_id, reason=request.reason), reply=INSTITUTION)

    async def UpdateInstitutionBankAccount(self, request, context):
        number, name, code = mappers.bank_account(request.bank_account)
        return await self._bus.handle(commands.UpdateInstitutionBankAccount(
            actor=caller(request), institution_id=request.institution_id, account_number=number, account_name=name,
            bank_code=code), reply=INSTITUTION)

    async def GetInstitution(self, request, context):
        reader = self._reader("GetInstitution")
        async with self._uow(read_only=True) as uow:
            i = await uow.institutions.get(request.institution_id)
        if i is None:
            raise NotFound("institution not found")
        return mappers.institution(i, shows_bank_account(reader, i.institution_id))

    async def IssueVoucher(self, request, context):
        return await self._bus.handle(commands.IssueVoucher(
            actor=caller(request), resident_id=request.resident_id, name=request.name,
            occupation_code=request.occupation_code, level=request.level, fund_source=request.fund_source,
            batch_id=request.batch_id, valid_until=from_ts(request.valid_until, request.HasField("valid_until"), "valid_until")),
            reply=VOUCHER)

    async def CreatePresentationToken(self, request, context):
        return await self._bus.handle(commands.CreatePresentationToken(
            actor=caller(request), voucher_id=request.voucher_id), reply=PRESENTATION)

    async def EnrolVoucher(self, request, context):
        return await self._bus.handle(commands.EnrolVoucher(
            actor=caller(request), voucher_id=request.voucher_id, institution_id=request.institution_id,
            real_person_verified=request.real_person_verified, presentation_token=request.presentation_token,
            occupation_code=request.occupation_code, level=request.level), reply=VOUCHER)

    async def CreateBatch(self, request, context):
        return await self._bus.handle(commands.CreateBatch(
            actor=caller(request), batch_id=request.batch_id, fund_source=request.fund_source,
            valid_from=from_ts(request.valid_from, request.HasField("valid_from"), "valid_from"),
            valid_until=from_ts(request.valid_until, request.HasField("valid_until"), "valid_until"),
            kind=mappers.VOUCHER_KIND_FROM_PB.get(request.kind), occupation_code=request.occupation_code,
            level=request.level, institution_id=request.institution_id,
            mode=mappers.BATCH_MODE_FROM_PB.get(request.mode), quota=request.quota), reply=BATCH)

    async def GetBatch(self, request, context):
        self._reader("GetBatch")
        async with self._uow(read_only=True) as uow:
            b = await uow.batches.get(request.batch_id)
        if b is None:
            raise NotFound("batch not found")
        return mappers.batch(b)

    async def IssueBatchVouchers(self, request_iterator, context):
        async def chunk_commands():
            actor = None
            async for chunk in request_iterator:
                # Checked once the first chunk is in: a stream refused before it has written anything
                # would see INTERNAL instead of PERMISSION_DENIED (see skillpay.grpc_server._first_message).
                actor = actor or self._bus.authorize(caller(), "IssueBatchVouchers")
                # The chunk's request id comes from its batch and number: a chunk sent again (after a
                # broken stream) gets its first answer back and issues nothing twice.
                request_id = chunk.request_id.strip() or derived_id("ibc", chunk.batch_id, chunk.chunk_no)
                yield commands.IssueBatchChunk(
                    actor=actor.for_request(request_id),
                    batch_id=chunk.batch_id, chunk_no=chunk.chunk_no, first_row=chunk.first_row,
                    persons=tuple((p.resident_id, p.name) for p in chunk.persons))

        async for progress in self._issue_in_turn(chunk_commands()):
            yield progress

    async def _issue_in_turn(self, chunks):
        """Each chunk through the bus, one after the other in the order sent; while one is being
        written, the next one is read and its persons identified (ChunkIdentities), so that CPU
        work fills the first one's waits for the database."""
        upcoming = await anext(chunks, None)
        while upcoming is not None:
            current, upcoming = upcoming, None
            handling = asyncio.ensure_future(self._bus.handle(current, reply=BATCH_PROGRESS))
            try:
                upcoming = await anext(chunks, None)
                if upcoming is not None and self._chunk_identities is not None:
                    await self._chunk_identities.prepare(upcoming)
            except BaseException:
                # The stream broke (or was refused) while a chunk was in flight: that chunk
                # commits or not as a whole; a chunk sent again later gets its first answer.
                handling.cancel()
                with contextlib.suppress(BaseException):
                    await handling
                raise
            try:
                yield await handling
            except BaseException:
                if upcoming is not None and self._chunk_identities is not None:
                    self._chunk_identities.discard(upcoming)
                raise

    async def ClaimVoucher(self, request, context):
        return await self._bus.handle(commands.ClaimVoucher(
            actor=caller(request), batch_id=request.batch_id, resident_id=request.resident_id, name=request.name),
            reply=VOUCHER)

    async def RecordCertificate(self, request, context):
        return await self._bus.handle(commands.RecordCertificate(
            actor=caller(request), resident_id=request.resident_id, name=request.name,
            certificate_number=request.certificate_number,
            certificate_type=mappers.CERT_TYPE_FROM_PB.get(request.certificate_type),
            occupation_code=request.occupation_code, level=request.level,
            issued_on=from_date(request.issued_on, request.HasField("issued_on"), "issued_on")), reply=CERTIFICATE)

    async def GetCertificate(self, request, context):
        self._reader("GetCertificate")
        async with self._uow(read_only=True) as uow:
            c = await uow.certificates.get(request.certificate_id)
        if c is None:
            raise NotFound("certificate not found")
        return mappers.certificate(c)

    async def RedeemVoucher(self, request, context):
        return await self._bus.handle(commands.RedeemVoucher(
            actor=caller(request), voucher_id=request.voucher_id, certificate_id=request.certificate_id),
            reply=VOUCHER)

    async def GetVoucher(self, request, context):
        actor = self._reader("GetVoucher")
        return mappers.voucher(await self._queries.get_voucher(actor, request.voucher_id))

    async def ListVouchers(self, request, context):
        actor = self._reader("ListVouchers")
        limit = page_size(request.page_size)
        state = mappers.VOUCHER_STATE_FROM_PB.get(request.state)
        items = await self._queries.list_vouchers(actor, decode_token(request.page_token, "vouchers"), limit + 1, state)
        page, token = split_page(items, limit, lambda last: last.voucher_id, "vouchers")
        return pb.ListVouchersResponse(vouchers=[mappers.voucher(v) for v in page], next_page_token=token)

    async def GetPerson(self, request, context):
        view = await self._queries.get_person(self._reader("GetPerson"), request.resident_id)
        return mappers.person(view.person, view.resident_id)

    async def SetHardshipGroups(self, request, context):
        return await self._bus.handle(commands.SetHardshipGroups(
            actor=caller(request), resident_id=request.resident_id,
            groups=tuple(mappers.HARDSHIP_GROUP_FROM_PB.get(g) for g in request.groups),
            effective_from=from_date(request.effective_from, request.HasField("effective_from"), "effective_from")),
            reply=PERSON)

    async def RecordEmployment(self, request, context):
        return await self._bus.handle(commands.RecordEmployment(
            actor=caller(request), resident_id=request.resident_id, name=request.name,
            employer_credit_code=request.employer_credit_code, employer_name=request.employer_name,
            start_date=from_date(request.start_date, request.HasField("start_date"), "start_date"),
            source=mappers.EMPLOYMENT_SOURCE_FROM_PB.get(request.source)), reply=EMPLOYMENT)

    async def ListEmployment(self, request, context):
        self._reader("ListEmployment")
        page, token = await self._queries.list_employment(request.resident_id, request.page_size,
                                                          request.page_token)
        return pb.ListEmploymentResponse(records=[mappers.employment(e) for e in page], next_page_token=token)

    async def ListAuditRecords(self, request, context):
        return await list_audit_records(self._uow, self._bus, request)

    async def ExpireDueVouchers(self, request, context):
        return await self._bus.handle(commands.ExpireDueVouchers(
            actor=caller(request), limit=request.limit or commands.DEFAULT_EXPIRY_CHUNK), reply=EXPIRED_COUNT)

    async def CancelVoucher(self, request, context):
        return await self._bus.handle(commands.CancelVoucher(
            actor=caller(request), voucher_id=request.voucher_id, reason=request.reason), reply=VOUCHER)

    async def RevokeVoucher(self, request, context):
        return await self._bus.handle(commands.RevokeVoucher(
            actor=caller(request), voucher_id=request.voucher_id, reason=request.reason), reply=VOUCHER)

    async def RollBackRedemption(self, request, context):
        return await self._bus.handle(commands.RollBackRedemption(
            actor=caller(request), voucher_id=request.voucher_id, reason=request.reason), reply=VOUCHER)



# The voucher's state follows the payment of its own value; a top-up (A5) is the claim's to follow.
TOP_UP_LINE = "top_up"


def on_payment_settled(envelope: events_pb2.EventEnvelope):
    event = events_pb2.PaymentSettled.FromString(envelope.payload)
    voucher_id = event.references.get("voucher_id", "")
    if not voucher_id or event.references.get("line_kind") == TOP_UP_LINE:
        return None  # paid for something other than a voucher's value
    # The redemption the payout was for; payouts requested before rollbacks existed name none.
    return commands.MarkVoucherPaid(actor=actor_for_event(envelope), voucher_id=voucher_id, payment_id=event.payment_id,
                                    paid_at=from_ts(event.settled_at, event.HasField("settled_at")),
                                    redemption_id=event.references.get("redemption_id") or None,
                                    amount_fen=event.amount_fen)


def on_payment_failed(envelope: events_pb2.EventEnvelope):
    event = events_pb2.PaymentFailed.FromString(envelope.payload)
    voucher_id = event.references.get("voucher_id", "")
    if not voucher_id or event.references.get("line_kind") == TOP_UP_LINE:
        return None
    return commands.MarkVoucherPayoutFailed(actor=actor_for_event(envelope), voucher_id=voucher_id,
                                            reason=event.reason,
                                            redemption_id=event.references.get("redemption_id") or None)


def on_payment_returned(envelope: events_pb2.EventEnvelope):
    event = events_pb2.PaymentReturned.FromString(envelope.payload)
    voucher_id = event.references.get("voucher_id", "")
    if not voucher_id or event.references.get("line_kind") == TOP_UP_LINE:
        return None
    return commands.MarkVoucherPayoutReturned(actor=actor_for_event(envelope), voucher_id=voucher_id,
                                              payment_id=event.payment_id, reason=event.reason,
                                              redemption_id=event.references.get("redemption_id") or None)


TRANSLATORS = {"payment.settled": on_payment_settled, "payment.failed": on_payment_failed,
               "payment.returned": on_payment_returned}


async def start(settings: VoucherSettings) -> None:
    process = await bootstrap.for_process(settings)
    settle_gc()  # issue 7: a batch chunk's garbage is collected without rescanning the service itself

    def add_servicers(server):
        servicer = VoucherServicer(process.bus, process.uow_factory, process.queries, process.runtime.clock,
                                   process.chunk_identities)
        voucher_pb2_grpc.add_VoucherServiceServicer_to_server(servicer, server)
        return [pb.DESCRIPTOR.services_by_name["VoucherService"].full_name]

    # V5: expiry happens by itself at the end of the window.
    sweeper = ExpirySweeper(process.bus, process.runtime.clock, settings.expiry_sweep_interval_s,
                            settings.expiry_sweep_chunk)
    try:
        await run_service(process.runtime, produces=[VOUCHER_EVENTS], consumes=[LEDGER_EVENTS],
                          translators=TRANSLATORS, bus=process.bus, uow_factory=process.uow_factory,
                          add_servicers=add_servicers, extra_background=[sweeper.run])
    finally:
        await process.funds.aclose()


def main() -> None:
    main_for(VoucherSettings(), start)


if __name__ == "__main__":
    main()
