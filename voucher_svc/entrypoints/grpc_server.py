"""The VoucherService gRPC server process: ``python -m voucher_svc.entrypoints.grpc_server``."""

from __future__ import annotations

import functools
from pathlib import Path

from skillpay.clock import utcnow
from skillpay.errors import NotFound
from skillpay.events.v1 import events_pb2
from skillpay.grpc_server import idempotent
from skillpay.kafka import LEDGER_EVENTS, VOUCHER_EVENTS
from skillpay.paging import decode_token, page_size, split_page
from skillpay.pii import PiiVault
from skillpay.service_runtime import ServiceRuntime, from_date, from_ts, main_for, prepare_database, run_service
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc
from voucher_svc.adapters.events import to_outgoing
from voucher_svc.adapters.unit_of_work import VoucherUnitOfWork
from voucher_svc.config import VoucherSettings
from voucher_svc.entrypoints import mappers
from voucher_svc.service_layer import services

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class VoucherServicer(voucher_pb2_grpc.VoucherServiceServicer):
    def __init__(self, uow_factory, vault: PiiVault):
        self._uow = uow_factory
        self._vault = vault

    async def RegisterOccupation(self, request, context):
        async def action(uow):
            o = await services.register_occupation(uow, request.code, request.name, request.level,
                                                   request.subsidy_standard_fen, request.new_occupation, utcnow())
            return mappers.occupation(o)
        return await idempotent(self._uow, "RegisterOccupation", request, pb.Occupation, action)

    async def ListOccupations(self, request, context):
        limit = page_size(request.page_size)
        async with self._uow(read_only=True) as uow:
            items = await uow.occupations.list(decode_token(request.page_token), limit + 1)
        page, token = split_page(items, limit, lambda last: f"{last.code}|{last.level}")
        return pb.ListOccupationsResponse(occupations=[mappers.occupation(o) for o in page], next_page_token=token)

    async def RegisterInstitution(self, request, context):
        async def action(uow):
            i = await services.register_institution(uow, request.name, request.credit_code, request.address,
                                                    list(request.occupation_codes), utcnow())
            return mappers.institution(i)
        return await idempotent(self._uow, "RegisterInstitution", request, pb.Institution, action)

    async def GetInstitution(self, request, context):
        async with self._uow(read_only=True) as uow:
            i = await uow.institutions.get(request.institution_id)
        if i is None:
            raise NotFound(f"institution {request.institution_id} not found")
        return mappers.institution(i)

    async def IssueVoucher(self, request, context):
        async def action(uow):
            v = await services.issue_voucher(
                uow, self._vault, request.resident_id, request.name, request.occupation_code, request.level,
                request.fund_source, request.batch_id, from_ts(request.valid_until, request.HasField("valid_until")),
                utcnow())
            return mappers.voucher(v)
        return await idempotent(self._uow, "IssueVoucher", request, pb.Voucher, action)

    async def EnrolVoucher(self, request, context):
        async def action(uow):
            v = await services.enrol_voucher(uow, request.voucher_id, request.institution_id,
                                             request.real_person_verified, utcnow())
            return mappers.voucher(v)
        return await idempotent(self._uow, "EnrolVoucher", request, pb.Voucher, action)

    async def RecordCertificate(self, request, context):
        async def action(uow):
            c = await services.record_certificate(
                uow, self._vault, request.resident_id, request.name, request.certificate_number,
                mappers.CERT_TYPE_FROM_PB.get(request.certificate_type), request.occupation_code, request.level,
                from_date(request.issued_on, request.HasField("issued_on"), "issued_on"), utcnow())
            return mappers.certificate(c)
        return await idempotent(self._uow, "RecordCertificate", request, pb.Certificate, action)

    async def GetCertificate(self, request, context):
        async with self._uow(read_only=True) as uow:
            c = await uow.certificates.get(request.certificate_id)
        if c is None:
            raise NotFound(f"certificate {request.certificate_id} not found")
        return mappers.certificate(c)

    async def RedeemVoucher(self, request, context):
        async def action(uow):
            v = await services.redeem_voucher(uow, request.voucher_id, request.certificate_id, utcnow())
            return mappers.voucher(v)
        return await idempotent(self._uow, "RedeemVoucher", request, pb.Voucher, action)

    async def GetVoucher(self, request, context):
        async with self._uow(read_only=True) as uow:
            v = await uow.vouchers.get(request.voucher_id)
        if v is None:
            raise NotFound(f"voucher {request.voucher_id} not found")
        return mappers.voucher(v)

    async def ListVouchers(self, request, context):
        limit = page_size(request.page_size)
        state = mappers.VOUCHER_STATE_FROM_PB.get(request.state)
        async with self._uow(read_only=True) as uow:
            items = await uow.vouchers.list(decode_token(request.page_token), limit + 1, state)
        page, token = split_page(items, limit, lambda last: last.voucher_id)
        return pb.ListVouchersResponse(vouchers=[mappers.voucher(v) for v in page], next_page_token=token)


async def on_payment_settled(envelope: events_pb2.EventEnvelope, uow) -> None:
    event = events_pb2.PaymentSettled.FromString(envelope.payload)
    if event.voucher_id:
        await services.mark_voucher_paid(uow, event.voucher_id, event.payment_id,
                                         from_ts(event.settled_at, event.HasField("settled_at")) or utcnow())


async def start(settings: VoucherSettings) -> None:
    db = await prepare_database(settings, MIGRATIONS)
    runtime = ServiceRuntime(settings, db)
    uow_factory = functools.partial(VoucherUnitOfWork, db, settings.service_name, to_outgoing, runtime.wake_relay)
    vault = PiiVault.from_settings(settings)

    def add_servicers(server):
        voucher_pb2_grpc.add_VoucherServiceServicer_to_server(VoucherServicer(uow_factory, vault), server)
        return [pb.DESCRIPTOR.services_by_name["VoucherService"].full_name]

    await run_service(runtime, produces=[VOUCHER_EVENTS], consumes=[LEDGER_EVENTS],
                      handlers={"payment.settled": on_payment_settled}, uow_factory=uow_factory,
                      add_servicers=add_servicers)


def main() -> None:
    main_for(VoucherSettings(), start)


if __name__ == "__main__":
    main()
