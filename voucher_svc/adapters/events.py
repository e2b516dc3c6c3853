"""Domain events of the voucher service, as protobuf payloads on Kafka."""

from __future__ import annotations

from collections.abc import Iterable

from skillpay.events.v1 import events_pb2
from skillpay.kafka import VOUCHER_EVENTS
from skillpay.messaging import OutgoingEvent, to_timestamp
from voucher_svc.domain.model import (
    InstitutionStatusChanged,
    PersonIdentity,
    VoucherRedeemed,
)


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
    elif isinstance(event, InstitutionStatusChanged):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="institution.status_changed", aggregate_id=event.institution_id,
            payload=events_pb2.InstitutionStatusChanged(
                institution_id=event.institution_id, status=event.status.value,
                previous_status=event.previous_status.value, reason=event.reason,
                changed_at=to_timestamp(event.changed_at)),
            occurred_at=event.changed_at,
        )
