"""Domain events of the voucher service, as protobuf payloads on Kafka."""

from __future__ import annotations

from collections.abc import Iterable

from skillpay.events.v1 import events_pb2
from skillpay.kafka import VOUCHER_EVENTS
from skillpay.messaging import OutgoingEvent, to_timestamp
from voucher_svc.domain.batch import BatchChunkIssued
from voucher_svc.domain.model import PersonIdentity, VoucherRedeemed


def person_ref(p: PersonIdentity) -> events_pb2.PersonRef:
    return events_pb2.PersonRef(name=p.name, id_masked=p.id_masked, id_sealed=p.id_sealed, id_lookup=p.id_lookup)


def to_outgoing(event: object) -> Iterable[OutgoingEvent]:
    if isinstance(event, VoucherRedeemed):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.redeemed", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherRedeemed(
                voucher_id=event.voucher_id, holder=person_ref(event.holder), institution_id=event.institution_id,
                occupation_code=event.occupation_code, level=event.level, certificate_id=event.certificate_id,
                certificate_type=event.certificate_type.value, value_fen=event.value_fen,
                fund_source=event.fund_source, redeemed_at=to_timestamp(event.redeemed_at),
            ),
            occurred_at=event.redeemed_at,
        )
    elif isinstance(event, BatchChunkIssued):
        # One message per chunk (up to 5,000 vouchers), keyed by the batch so its chunks stay in order.
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.batch_issued", aggregate_id=event.batch_id,
            payload=events_pb2.VoucherBatchIssued(
                batch_id=event.batch_id, chunk_no=event.chunk_no, issued_count=event.issued_count,
                kind=event.kind.value, fund_source=event.fund_source, occupation_code=event.occupation_code,
                level=event.level, institution_id=event.institution_id, valid_from=to_timestamp(event.valid_from),
                valid_until=to_timestamp(event.valid_until), issued_at=to_timestamp(event.issued_at),
            ),
            occurred_at=event.issued_at,
        )
