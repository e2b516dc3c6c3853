"""Domain events of the ledger service, as protobuf payloads on Kafka."""

from __future__ import annotations

from collections.abc import Iterable

from ledger_svc.domain.model import PaymentFailed, PaymentReturned, PaymentSettled
from skillpay.events.v1 import events_pb2
from skillpay.kafka import LEDGER_EVENTS
from skillpay.messaging import OutgoingEvent, to_timestamp


def to_outgoing(event: object) -> Iterable[OutgoingEvent]:
    if isinstance(event, PaymentSettled):
        yield OutgoingEvent(
            topic=LEDGER_EVENTS, event_type="payment.settled", aggregate_id=event.payment_id,
            payload=events_pb2.PaymentSettled(
                payment_id=event.payment_id, references=event.references,
                amount_fen=event.amount_fen, fund_source=event.fund_code, bank_ref=event.bank_ref,
                settled_at=to_timestamp(event.settled_at)),
            occurred_at=event.settled_at)
    elif isinstance(event, PaymentFailed):
        yield OutgoingEvent(
            topic=LEDGER_EVENTS, event_type="payment.failed", aggregate_id=event.payment_id,
            payload=events_pb2.PaymentFailed(
                payment_id=event.payment_id, references=event.references,
                amount_fen=event.amount_fen, fund_source=event.fund_code, reason=event.reason,
                failed_at=to_timestamp(event.failed_at)),
            occurred_at=event.failed_at)
    elif isinstance(event, PaymentReturned):
        yield OutgoingEvent(
            topic=LEDGER_EVENTS, event_type="payment.returned", aggregate_id=event.payment_id,
            payload=events_pb2.PaymentReturned(
                payment_id=event.payment_id, references=event.references,
                amount_fen=event.amount_fen, fund_source=event.fund_code, reason=event.reason,
                return_code=event.return_code, returned_at=to_timestamp(event.returned_at)),
            occurred_at=event.returned_at)
