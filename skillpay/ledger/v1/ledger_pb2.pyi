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

class FundType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FUND_TYPE_UNSPECIFIED: _ClassVar[FundType]
    FUND_TYPE_EMPLOYMENT_SUBSIDY: _ClassVar[FundType]
    FUND_TYPE_UNEMPLOYMENT_INSURANCE: _ClassVar[FundType]
    FUND_TYPE_SKILLS_UPGRADING: _ClassVar[FundType]
    FUND_TYPE_OTHER: _ClassVar[FundType]

class PaymentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_STATE_UNSPECIFIED: _ClassVar[PaymentState]
    PAYMENT_STATE_PENDING: _ClassVar[PaymentState]
    PAYMENT_STATE_SUBMITTED: _ClassVar[PaymentState]
    PAYMENT_STATE_IN_DOUBT: _ClassVar[PaymentState]
    PAYMENT_STATE_SETTLED: _ClassVar[PaymentState]
    PAYMENT_STATE_FAILED: _ClassVar[PaymentState]
    PAYMENT_STATE_AWAITING_FUNDS: _ClassVar[PaymentState]
FUND_TYPE_UNSPECIFIED: FundType
FUND_TYPE_EMPLOYMENT_SUBSIDY: FundType
FUND_TYPE_UNEMPLOYMENT_INSURANCE: FundType
FUND_TYPE_SKILLS_UPGRADING: FundType
FUND_TYPE_OTHER: FundType
PAYMENT_STATE_UNSPECIFIED: PaymentState
PAYMENT_STATE_PENDING: PaymentState
PAYMENT_STATE_SUBMITTED: PaymentState
PAYMENT_STATE_IN_DOUBT: PaymentState
PAYMENT_STATE_SETTLED: PaymentState
PAYMENT_STATE_FAILED: PaymentState
PAYMENT_STATE_AWAITING_FUNDS: PaymentState

class Fund(_message.Message):
    __slots__ = ("fund_code", "name", "fund_type", "allocated_fen", "available_fen", "payable_fen", "disbursed_fen", "created_at")
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FUND_TYPE_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_FEN_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FEN_FIELD_NUMBER: _ClassVar[int]
    PAYABLE_FEN_FIELD_NUMBER: _ClassVar[int]
    DISBURSED_FEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    fund_code: str
    name: str
    fund_type: FundType
    allocated_fen: int
    available_fen: int
    payable_fen: int
    disbursed_fen: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, fund_code: _Optional[str] = ..., name: _Optional[str] = ..., fund_type: _Optional[_Union[FundType, str]] = ..., allocated_fen: _Optional[int] = ..., available_fen: _Optional[int] = ..., payable_fen: _Optional[int] = ..., disbursed_fen: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OpenFundRequest(_message.Message):
    __slots__ = ("request_id", "fund_code", "name", "fund_type")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FUND_TYPE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    fund_code: str
    name: str
    fund_type: FundType
    def __init__(self, request_id: _Optional[str] = ..., fund_code: _Optional[str] = ..., name: _Optional[str] = ..., fund_type: _Optional[_Union[FundType, str]] = ...) -> None: ...

class AllocateBudgetRequest(_message.Message):
    __slots__ = ("request_id", "fund_code", "amount_fen", "memo")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    fund_code: str
    amount_fen: int
    memo: str
    def __init__(self, request_id: _Optional[str] = ..., fund_code: _Optional[str] = ..., amount_fen: _Optional[int] = ..., memo: _Optional[str] = ...) -> None: ...

class GetFundRequest(_message.Message):
    __slots__ = ("fund_code",)
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    fund_code: str
    def __init__(self, fund_code: _Optional[str] = ...) -> None: ...

class ListFundsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFundsResponse(_message.Message):
    __slots__ = ("funds", "next_page_token")
    FUNDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    funds: _containers.RepeatedCompositeFieldContainer[Fund]
    next_page_token: str
    def __init__(self, funds: _Optional[_Iterable[_Union[Fund, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Posting(_message.Message):
    __slots__ = ("account", "debit_fen", "credit_fen")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    DEBIT_FEN_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FEN_FIELD_NUMBER: _ClassVar[int]
    account: str
    debit_fen: int
    credit_fen: int
    def __init__(self, account: _Optional[str] = ..., debit_fen: _Optional[int] = ..., credit_fen: _Optional[int] = ...) -> None: ...

class JournalEntry(_message.Message):
    __slots__ = ("entry_id", "fund_code", "kind", "reference", "postings", "posted_at")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    POSTINGS_FIELD_NUMBER: _ClassVar[int]
    POSTED_AT_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    fund_code: str
    kind: str
    reference: str
    postings: _containers.RepeatedCompositeFieldContainer[Posting]
    posted_at: _timestamp_pb2.Timestamp
    def __init__(self, entry_id: _Optional[str] = ..., fund_code: _Optional[str] = ..., kind: _Optional[str] = ..., reference: _Optional[str] = ..., postings: _Optional[_Iterable[_Union[Posting, _Mapping]]] = ..., posted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListJournalEntriesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "fund_code")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    fund_code: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., fund_code: _Optional[str] = ...) -> None: ...

class ListJournalEntriesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[JournalEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[JournalEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Payment(_message.Message):
    __slots__ = ("payment_id", "channel", "fund_code", "amount_fen", "payee_name", "payee_id_masked", "state", "bank_ref", "failure_reason", "created_at", "submitted_at", "settled_at", "references", "duplicate_requests")
    class ReferencesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    PAYEE_NAME_FIELD_NUMBER: _ClassVar[int]
    PAYEE_ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BANK_REF_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    SETTLED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    channel: str
    fund_code: str
    amount_fen: int
    payee_name: str
    payee_id_masked: str
    state: PaymentState
    bank_ref: str
    failure_reason: str
    created_at: _timestamp_pb2.Timestamp
    submitted_at: _timestamp_pb2.Timestamp
    settled_at: _timestamp_pb2.Timestamp
    references: _containers.ScalarMap[str, str]
    duplicate_requests: int
    def __init__(self, payment_id: _Optional[str] = ..., channel: _Optional[str] = ..., fund_code: _Optional[str] = ..., amount_fen: _Optional[int] = ..., payee_name: _Optional[str] = ..., payee_id_masked: _Optional[str] = ..., state: _Optional[_Union[PaymentState, str]] = ..., bank_ref: _Optional[str] = ..., failure_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., references: _Optional[_Mapping[str, str]] = ..., duplicate_requests: _Optional[int] = ...) -> None: ...

class GetPaymentRequest(_message.Message):
    __slots__ = ("payment_id",)
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    def __init__(self, payment_id: _Optional[str] = ...) -> None: ...

class ListPaymentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "state", "reference_key", "reference_value")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_KEY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_VALUE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    state: PaymentState
    reference_key: str
    reference_value: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[PaymentState, str]] = ..., reference_key: _Optional[str] = ..., reference_value: _Optional[str] = ...) -> None: ...

class ListPaymentsResponse(_message.Message):
    __slots__ = ("payments", "next_page_token")
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    next_page_token: str
    def __init__(self, payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
