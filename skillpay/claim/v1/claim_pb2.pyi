import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from skillpay.audit.v1 import audit_pb2 as _audit_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClaimKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLAIM_KIND_UNSPECIFIED: _ClassVar[ClaimKind]
    CLAIM_KIND_VOUCHER: _ClassVar[ClaimKind]
    CLAIM_KIND_PROJECT: _ClassVar[ClaimKind]

class PayeeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYEE_KIND_UNSPECIFIED: _ClassVar[PayeeKind]
    PAYEE_KIND_PERSON: _ClassVar[PayeeKind]
    PAYEE_KIND_INSTITUTION: _ClassVar[PayeeKind]

class ClaimState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLAIM_STATE_UNSPECIFIED: _ClassVar[ClaimState]
    CLAIM_STATE_SUBMITTED: _ClassVar[ClaimState]
    CLAIM_STATE_APPROVED: _ClassVar[ClaimState]
    CLAIM_STATE_PAID: _ClassVar[ClaimState]
    CLAIM_STATE_REJECTED: _ClassVar[ClaimState]
    CLAIM_STATE_PAYMENT_FAILED: _ClassVar[ClaimState]

class ClaimLineState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLAIM_LINE_STATE_UNSPECIFIED: _ClassVar[ClaimLineState]
    CLAIM_LINE_STATE_OPEN: _ClassVar[ClaimLineState]
    CLAIM_LINE_STATE_PAYOUT_REQUESTED: _ClassVar[ClaimLineState]
    CLAIM_LINE_STATE_PAID: _ClassVar[ClaimLineState]
    CLAIM_LINE_STATE_PAYMENT_FAILED: _ClassVar[ClaimLineState]
CLAIM_KIND_UNSPECIFIED: ClaimKind
CLAIM_KIND_VOUCHER: ClaimKind
CLAIM_KIND_PROJECT: ClaimKind
PAYEE_KIND_UNSPECIFIED: PayeeKind
PAYEE_KIND_PERSON: PayeeKind
PAYEE_KIND_INSTITUTION: PayeeKind
CLAIM_STATE_UNSPECIFIED: ClaimState
CLAIM_STATE_SUBMITTED: ClaimState
CLAIM_STATE_APPROVED: ClaimState
CLAIM_STATE_PAID: ClaimState
CLAIM_STATE_REJECTED: ClaimState
CLAIM_STATE_PAYMENT_FAILED: ClaimState
CLAIM_LINE_STATE_UNSPECIFIED: ClaimLineState
CLAIM_LINE_STATE_OPEN: ClaimLineState
CLAIM_LINE_STATE_PAYOUT_REQUESTED: ClaimLineState
CLAIM_LINE_STATE_PAID: ClaimLineState
CLAIM_LINE_STATE_PAYMENT_FAILED: ClaimLineState

class Claim(_message.Message):
    __slots__ = ("claim_id", "kind", "voucher_id", "payee_kind", "payee_name", "payee_id_masked", "institution_id", "occupation_code", "level", "amount_fen", "fund_source", "state", "payment_id", "failure_reason", "created_at", "approved_at", "paid_at", "lines", "standard_fen")
    CLAIM_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_KIND_FIELD_NUMBER: _ClassVar[int]
    PAYEE_NAME_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AT_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FEN_FIELD_NUMBER: _ClassVar[int]
    claim_id: str
    kind: ClaimKind
    voucher_id: str
    payee_kind: PayeeKind
    payee_name: str
    payee_id_masked: str
    institution_id: str
    occupation_code: str
    level: int
    amount_fen: int
    fund_source: str
    state: ClaimState
    payment_id: str
    failure_reason: str
    created_at: _timestamp_pb2.Timestamp
    approved_at: _timestamp_pb2.Timestamp
    paid_at: _timestamp_pb2.Timestamp
    lines: _containers.RepeatedCompositeFieldContainer[ClaimLine]
    standard_fen: int
    def __init__(self, claim_id: _Optional[str] = ..., kind: _Optional[_Union[ClaimKind, str]] = ..., voucher_id: _Optional[str] = ..., payee_kind: _Optional[_Union[PayeeKind, str]] = ..., payee_name: _Optional[str] = ..., payee_id_masked: _Optional[str] = ..., institution_id: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., amount_fen: _Optional[int] = ..., fund_source: _Optional[str] = ..., state: _Optional[_Union[ClaimState, str]] = ..., payment_id: _Optional[str] = ..., failure_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., approved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paid_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[ClaimLine, _Mapping]]] = ..., standard_fen: _Optional[int] = ...) -> None: ...

class ClaimLine(_message.Message):
    __slots__ = ("line_id", "kind", "amount_fen", "state", "payout_request_id", "attempt", "failure_reason", "rule", "rate_percent")
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    RATE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    line_id: str
    kind: str
    amount_fen: int
    state: ClaimLineState
    payout_request_id: str
    attempt: int
    failure_reason: str
    rule: str
    rate_percent: int
    def __init__(self, line_id: _Optional[str] = ..., kind: _Optional[str] = ..., amount_fen: _Optional[int] = ..., state: _Optional[_Union[ClaimLineState, str]] = ..., payout_request_id: _Optional[str] = ..., attempt: _Optional[int] = ..., failure_reason: _Optional[str] = ..., rule: _Optional[str] = ..., rate_percent: _Optional[int] = ...) -> None: ...

class GetClaimRequest(_message.Message):
    __slots__ = ("claim_id",)
    CLAIM_ID_FIELD_NUMBER: _ClassVar[int]
    claim_id: str
    def __init__(self, claim_id: _Optional[str] = ...) -> None: ...

class ListClaimsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "voucher_id", "state")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    voucher_id: str
    state: ClaimState
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., voucher_id: _Optional[str] = ..., state: _Optional[_Union[ClaimState, str]] = ...) -> None: ...

class ListClaimsResponse(_message.Message):
    __slots__ = ("claims", "next_page_token")
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    claims: _containers.RepeatedCompositeFieldContainer[Claim]
    next_page_token: str
    def __init__(self, claims: _Optional[_Iterable[_Union[Claim, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RequestPayoutAgainRequest(_message.Message):
    __slots__ = ("request_id", "claim_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLAIM_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    claim_id: str
    def __init__(self, request_id: _Optional[str] = ..., claim_id: _Optional[str] = ...) -> None: ...
