"""Domain events of the claim service, as protobuf payloads on Kafka."""

from __future__ import annotations

from collections.abc import Iterable

from claim_svc.domain.model import PayoutRequested
from skillpay.events.v1 import events_pb2
from skillpay.kafka import CLAIM_EVENTS
from skillpay.messaging import OutgoingEvent, to_timestamp


def to_outgoing(event: object) -> Iterable[OutgoingEvent]:
    if isinstance(event, PayoutRequested):
        p = event.payee
        yield OutgoingEvent(
            topic=CLAIM_EVENTS, event_type="payout.requested", aggregate_id=event.claim_id,
            payload=events_pb2.PayoutRequested(
                payout_request_id=event.payout_request_id, claim_id=event.claim_id, claim_line_id=event.line_id,
                line_kind=event.line_kind.value, attempt=event.attempt,
                payee=events_pb2.PersonRef(name=p.name, id_masked=p.id_masked, id_sealed=p.id_sealed,
                                           id_lookup=p.id_lookup),
                channel=event.channel, amount_fen=event.amount_fen, fund_source=event.fund_source,
                references=event.references, requested_at=to_timestamp(event.requested_at),
            ),
            occurred_at=event.requested_at,
        )
