"""Domain events of the claim service, as protobuf payloads on Kafka."""

from __future__ import annotations

from collections.abc import Iterable

from claim_svc.domain.model import ClaimApproved
from skillpay.events.v1 import events_pb2
from skillpay.kafka import CLAIM_EVENTS
from skillpay.messaging import OutgoingEvent, to_timestamp


def to_outgoing(event: object) -> Iterable[OutgoingEvent]:
    if isinstance(event, ClaimApproved):
        p = event.payee
        yield OutgoingEvent(
            topic=CLAIM_EVENTS, event_type="claim.approved", aggregate_id=event.claim_id,
            payload=events_pb2.ClaimApproved(
                claim_id=event.claim_id, voucher_id=event.voucher_id,
                payee=events_pb2.PersonRef(name=p.name, id_masked=p.id_masked, id_sealed=p.id_sealed, id_lookup=p.id_lookup),
                channel=event.channel, institution_id=event.institution_id, amount_fen=event.amount_fen,
                fund_source=event.fund_source, approved_at=to_timestamp(event.approved_at),
            ),
            occurred_at=event.approved_at,
        )
