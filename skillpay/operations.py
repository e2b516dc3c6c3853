"""``skillpay.ops.v1.Operations``, served by every service: its parked events, listed and replayed.

Like ListAuditRecords it is the same in every service, so it lives here; ``run_service`` adds it
to each server. Admin only (each service's permissions table says so).
"""

from __future__ import annotations

from skillpay.dead_letters import ParkedEvent, ParkedState, ReplayOutcome, parse_public_id, replay
from skillpay.errors import FieldViolation, InvalidArgument
from skillpay.grpc_server import caller
from skillpay.messagebus import _check_request_id
from skillpay.messaging import to_timestamp as ts
from skillpay.ops.v1 import ops_pb2, ops_pb2_grpc
from skillpay.paging import decode_token, page_size, split_page

SERVICE_NAME = ops_pb2.DESCRIPTOR.services_by_name["Operations"].full_name

_STATE_TO_PB = {ParkedState.PARKED: ops_pb2.PARKED_EVENT_STATE_PARKED,
                ParkedState.REPLAYED: ops_pb2.PARKED_EVENT_STATE_REPLAYED}
_STATE_FROM_PB = {ops_pb2.PARKED_EVENT_STATE_UNSPECIFIED: None, **{v: k for k, v in _STATE_TO_PB.items()}}
_OUTCOME_TO_PB = {ReplayOutcome.APPLIED: ops_pb2.REPLAY_OUTCOME_APPLIED,
                  ReplayOutcome.ALREADY_APPLIED: ops_pb2.REPLAY_OUTCOME_ALREADY_APPLIED,
                  ReplayOutcome.FAILED: ops_pb2.REPLAY_OUTCOME_FAILED}


def parked_event(e: ParkedEvent) -> ops_pb2.ParkedEvent:
    return ops_pb2.ParkedEvent(
        parked_event_id=e.public_id, consumer=e.consumer, topic=e.topic, partition=e.partition, offset=e.offset,
        event_id=e.event_id, event_type=e.event_type, error_class=e.error_class, error_message=e.error_message,
        attempts=e.attempts, parked_at=ts(e.parked_at), state=_STATE_TO_PB[e.state], replayed_at=ts(e.replayed_at),
        replayed_by=e.replayed_by or "", envelope=e.envelope)


class OperationsServicer(ops_pb2_grpc.OperationsServicer):
    def __init__(self, service: str, bus, uow_factory, translators: dict):
        self._service = service
        self._bus = bus
        self._uow = uow_factory
        self._translators = translators

    async def ListParkedEvents(self, request, context):
        self._bus.authorize(caller(), "ListParkedEvents")
        if request.state not in _STATE_FROM_PB:
            raise InvalidArgument([FieldViolation("state", "is not a known state")])
        state = _STATE_FROM_PB[request.state]
        limit = page_size(request.page_size)
        scope = f"parked:{request.state}"  # a token pages through one state's list only
        after = decode_token(request.page_token, scope)
        if after is not None and not (after.isascii() and after.isdigit()):
            raise InvalidArgument([FieldViolation("page_token", "is not a token this list issued")])
        async with self._uow(read_only=True) as uow:
            items = await uow.parked_events(self._service).list(state, int(after or 0), limit + 1)
        page, token = split_page(items, limit, lambda last: str(last.id), scope)
        return ops_pb2.ListParkedEventsResponse(parked_events=[parked_event(e) for e in page],
                                                next_page_token=token)

    async def ReplayParkedEvent(self, request, context):
        actor = self._bus.authorize(caller(request), "ReplayParkedEvent")
        violations: list[FieldViolation] = []
        row_id = 0
        for check in (lambda: _check_request_id(actor.request_id),
                      lambda: parse_public_id(self._service, request.parked_event_id)):
            try:
                row_id = check() or row_id
            except InvalidArgument as exc:
                violations += exc.violations
        if violations:
            raise InvalidArgument(violations)
        outcome, event = await replay(uow_factory=self._uow, bus=self._bus, translators=self._translators,
                                      service=self._service, actor=actor, row_id=row_id)
        return ops_pb2.ReplayParkedEventResponse(outcome=_OUTCOME_TO_PB[outcome], parked_event=parked_event(event))

