"""Domain events of the voucher service, as protobuf payloads on Kafka."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from google.type import date_pb2

from skillpay.events.v1 import events_pb2
from skillpay.kafka import VOUCHER_EVENTS
from skillpay.messaging import OutgoingEvent, to_timestamp
from voucher_svc.domain.batch import BatchChunkIssued
from voucher_svc.domain.employment import EmploymentRecorded
from voucher_svc.domain.person import HardshipGroupsSet
from voucher_svc.domain.lifecycle import (
    VoucherCancelled,
    VoucherEnrolled,
    VoucherExpired,
    VoucherIssued,
    VoucherPaid,
    VoucherRedemptionRolledBack,
    VoucherRevoked,
)
from voucher_svc.domain.model import (
    InstitutionStatusChanged,
    PersonIdentity,
    VoucherRedeemed,
    VoucherToppedUp,
)


def person_ref(p: PersonIdentity) -> events_pb2.PersonRef:
    return events_pb2.PersonRef(name=p.name, id_masked=p.id_masked, id_sealed=p.id_sealed, id_lookup=p.id_lookup)


def to_date(d: date | None) -> date_pb2.Date | None:
    return date_pb2.Date(year=d.year, month=d.month, day=d.day) if d else None


def to_outgoing(event: object) -> Iterable[OutgoingEvent]:
    if isinstance(event, VoucherRedeemed):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.redeemed", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherRedeemed(
                voucher_id=event.voucher_id, holder=person_ref(event.holder), institution_id=event.institution_id,
                occupation_code=event.occupation_code, level=event.level, certificate_id=event.certificate_id,
                certificate_type=event.certificate_type.value, value_fen=event.value_fen,
                fund_source=event.fund_source, redeemed_at=to_timestamp(event.redeemed_at),
                rate_percent=event.rate_percent, valuation_rule=event.valuation_rule,
                standard_fen=event.standard_fen, employment_window_end=to_date(event.employment_window_end),
                redemption_id=event.redemption_id, redemption_no=event.redemption_no,
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
    elif isinstance(event, InstitutionStatusChanged):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="institution.status_changed", aggregate_id=event.institution_id,
            payload=events_pb2.InstitutionStatusChanged(
                institution_id=event.institution_id, status=event.status.value,
                previous_status=event.previous_status.value, reason=event.reason,
                changed_at=to_timestamp(event.changed_at)),
            occurred_at=event.changed_at,
        )
    elif isinstance(event, VoucherToppedUp):
        # Keyed by the voucher like voucher.redeemed, so claim_svc reads the redemption first.
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.topped_up", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherToppedUp(
                top_up_id=event.top_up_id, voucher_id=event.voucher_id, holder=person_ref(event.holder),
                institution_id=event.institution_id, occupation_code=event.occupation_code, level=event.level,
                certificate_id=event.certificate_id, value_fen=event.value_fen, top_up_fen=event.top_up_fen,
                standard_fen=event.standard_fen, fund_source=event.fund_source,
                employment_start=to_date(event.employment_start), topped_up_at=to_timestamp(event.topped_up_at),
            ),
            occurred_at=event.topped_up_at,
        )
    elif isinstance(event, EmploymentRecorded):
        # Keyed by the person: all of one person's evidence in order, for claim_svc's employment rates (C2).
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="employment.recorded", aggregate_id=event.person.id_lookup,
            payload=events_pb2.EmploymentRecorded(
                employment_id=event.employment_id, person=person_ref(event.person),
                employer_credit_code=event.employer_credit_code, employer_name=event.employer_name,
                start_date=to_date(event.start_date), source=event.source.value, recorded_by=event.recorded_by,
                recorded_at=to_timestamp(event.recorded_at),
            ),
            occurred_at=event.recorded_at,
        )
    elif isinstance(event, VoucherIssued):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.issued", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherIssued(
                voucher_id=event.voucher_id, holder=person_ref(event.holder), kind=event.kind,
                occupation_code=event.occupation_code, level=event.level, fund_source=event.fund_source,
                batch_id=event.batch_id, valid_until=to_timestamp(event.valid_until),
                issued_at=to_timestamp(event.issued_at)),
            occurred_at=event.issued_at,
        )
    elif isinstance(event, VoucherEnrolled):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.enrolled", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherEnrolled(
                voucher_id=event.voucher_id, institution_id=event.institution_id,
                occupation_code=event.occupation_code, level=event.level, enrolled_at=to_timestamp(event.enrolled_at)),
            occurred_at=event.enrolled_at,
        )
    elif isinstance(event, VoucherPaid):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.paid", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherPaid(
                voucher_id=event.voucher_id, payment_id=event.payment_id, redemption_id=event.redemption_id,
                value_fen=event.value_fen, paid_at=to_timestamp(event.paid_at)),
            occurred_at=event.paid_at,
        )
    elif isinstance(event, HardshipGroupsSet):
        # Keyed by the person, like employment.recorded: one person's changes in order.
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="person.hardship_groups_set", aggregate_id=event.person.id_lookup,
            payload=events_pb2.PersonHardshipGroupsSet(
                person=person_ref(event.person), groups=list(event.groups),
                effective_from=to_date(event.effective_from), set_at=to_timestamp(event.set_at)),
            occurred_at=event.set_at,
        )
    elif isinstance(event, VoucherExpired):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.expired", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherExpired(voucher_id=event.voucher_id, valid_until=to_timestamp(event.valid_until),
                                              expired_at=to_timestamp(event.expired_at)),
            occurred_at=event.expired_at,
        )
    elif isinstance(event, VoucherCancelled):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.cancelled", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherCancelled(voucher_id=event.voucher_id, reason=event.reason,
                                                cancelled_at=to_timestamp(event.cancelled_at)),
            occurred_at=event.cancelled_at,
        )
    elif isinstance(event, VoucherRedemptionRolledBack):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.redemption_rolled_back", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherRedemptionRolledBack(
                voucher_id=event.voucher_id, redemption_id=event.redemption_id, redemption_no=event.redemption_no,
                certificate_id=event.certificate_id, value_fen=event.value_fen, reason=event.reason,
                rolled_back_at=to_timestamp(event.rolled_back_at)),
            occurred_at=event.rolled_back_at,
        )
    elif isinstance(event, VoucherRevoked):
        yield OutgoingEvent(
            topic=VOUCHER_EVENTS, event_type="voucher.revoked", aggregate_id=event.voucher_id,
            payload=events_pb2.VoucherRevoked(
                voucher_id=event.voucher_id, reason=event.reason, previous_state=event.previous_state,
                withdrawn_redemption_id=event.withdrawn_redemption_id, recovery_due_fen=event.recovery_due_fen,
                revoked_at=to_timestamp(event.revoked_at)),
            occurred_at=event.revoked_at,
        )
