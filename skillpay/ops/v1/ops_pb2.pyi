import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ParkedEventState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARKED_EVENT_STATE_UNSPECIFIED: _ClassVar[ParkedEventState]
    PARKED_EVENT_STATE_PARKED: _ClassVar[ParkedEventState]
    PARKED_EVENT_STATE_REPLAYED: _ClassVar[ParkedEventState]

class ReplayOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPLAY_OUTCOME_UNSPECIFIED: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_APPLIED: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_ALREADY_APPLIED: _ClassVar[ReplayOutcome]
    REPLAY_OUTCOME_FAILED: _ClassVar[ReplayOutcome]
PARKED_EVENT_STATE_UNSPECIFIED: ParkedEventState
PARKED_EVENT_STATE_PARKED: ParkedEventState
PARKED_EVENT_STATE_REPLAYED: ParkedEventState
REPLAY_OUTCOME_UNSPECIFIED: ReplayOutcome
REPLAY_OUTCOME_APPLIED: ReplayOutcome
REPLAY_OUTCOME_ALREADY_APPLIED: ReplayOutcome
REPLAY_OUTCOME_FAILED: ReplayOutcome

class ParkedEvent(_message.Message):
    __slots__ = ("parked_event_id", "consumer", "topic", "partition", "offset", "event_id", "event_type", "error_class", "error_message", "attempts", "parked_at", "state", "replayed_at", "replayed_by", "envelope")
    PARKED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ERROR_CLASS_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    PARKED_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_BY_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    parked_event_id: str
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: str
    event_type: str
    error_class: str
    error_message: str
    attempts: int
    parked_at: _timestamp_pb2.Timestamp
    state: ParkedEventState
    replayed_at: _timestamp_pb2.Timestamp
    replayed_by: str
    envelope: bytes
    def __init__(self, parked_event_id: _Optional[str] = ..., consumer: _Optional[str] = ..., topic: _Optional[str] = ..., partition: _Optional[int] = ..., offset: _Optional[int] = ..., event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., error_class: _Optional[str] = ..., error_message: _Optional[str] = ..., attempts: _Optional[int] = ..., parked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[ParkedEventState, str]] = ..., replayed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replayed_by: _Optional[str] = ..., envelope: _Optional[bytes] = ...) -> None: ...

class ListParkedEventsRequest(_message.Message):
    __slots__ = ("state", "page_size", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: ParkedEventState
    page_size: int
    page_token: str
    def __init__(self, state: _Optional[_Union[ParkedEventState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListParkedEventsResponse(_message.Message):
    __slots__ = ("parked_events", "next_page_token")
    PARKED_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parked_events: _containers.RepeatedCompositeFieldContainer[ParkedEvent]
    next_page_token: str
    def __init__(self, parked_events: _Optional[_Iterable[_Union[ParkedEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReplayParkedEventRequest(_message.Message):
    __slots__ = ("request_id", "parked_event_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PARKED_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    parked_event_id: str
    def __init__(self, request_id: _Optional[str] = ..., parked_event_id: _Optional[str] = ...) -> None: ...

class ReplayParkedEventResponse(_message.Message):
    __slots__ = ("outcome", "parked_event")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PARKED_EVENT_FIELD_NUMBER: _ClassVar[int]
    outcome: ReplayOutcome
    parked_event: ParkedEvent
    def __init__(self, outcome: _Optional[_Union[ReplayOutcome, str]] = ..., parked_event: _Optional[_Union[ParkedEvent, _Mapping]] = ...) -> None: ...
