import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import date_pb2 as _date_pb2
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
    PAYMENT_STATE_QUEUED: _ClassVar[PaymentState]
    PAYMENT_STATE_SUBMITTED: _ClassVar[PaymentState]
    PAYMENT_STATE_IN_DOUBT: _ClassVar[PaymentState]
    PAYMENT_STATE_SETTLED: _ClassVar[PaymentState]
    PAYMENT_STATE_FAILED: _ClassVar[PaymentState]
    PAYMENT_STATE_AWAITING_FUNDS: _ClassVar[PaymentState]
    PAYMENT_STATE_RETURNED: _ClassVar[PaymentState]

class TransferCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_CODE_UNSPECIFIED: _ClassVar[TransferCode]
    TRANSFER_CODE_ALLOCATION: _ClassVar[TransferCode]
    TRANSFER_CODE_COMMITMENT: _ClassVar[TransferCode]
    TRANSFER_CODE_SUBMISSION: _ClassVar[TransferCode]
    TRANSFER_CODE_SETTLEMENT: _ClassVar[TransferCode]
    TRANSFER_CODE_RELEASE: _ClassVar[TransferCode]
    TRANSFER_CODE_RETURN: _ClassVar[TransferCode]
    TRANSFER_CODE_RECOVERY: _ClassVar[TransferCode]
    TRANSFER_CODE_CORRECTION: _ClassVar[TransferCode]

class TransferResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_RESULT_UNSPECIFIED: _ClassVar[TransferResult]
    TRANSFER_RESULT_OK: _ClassVar[TransferResult]
    TRANSFER_RESULT_EXISTS: _ClassVar[TransferResult]
    TRANSFER_RESULT_EXISTS_WITH_DIFFERENT_FIELDS: _ClassVar[TransferResult]
    TRANSFER_RESULT_LINKED_EVENT_FAILED: _ClassVar[TransferResult]
    TRANSFER_RESULT_LINKED_EVENT_CHAIN_OPEN: _ClassVar[TransferResult]
    TRANSFER_RESULT_ID_INVALID: _ClassVar[TransferResult]
    TRANSFER_RESULT_FLAGS_ARE_MUTUALLY_EXCLUSIVE: _ClassVar[TransferResult]
    TRANSFER_RESULT_AMOUNT_INVALID: _ClassVar[TransferResult]
    TRANSFER_RESULT_USER_DATA_TOO_LONG: _ClassVar[TransferResult]
    TRANSFER_RESULT_PENDING_ID_MUST_BE_EMPTY: _ClassVar[TransferResult]
    TRANSFER_RESULT_PENDING_ID_REQUIRED: _ClassVar[TransferResult]
    TRANSFER_RESULT_ACCOUNTS_MUST_BE_DIFFERENT: _ClassVar[TransferResult]
    TRANSFER_RESULT_DEBIT_ACCOUNT_NOT_FOUND: _ClassVar[TransferResult]
    TRANSFER_RESULT_CREDIT_ACCOUNT_NOT_FOUND: _ClassVar[TransferResult]
    TRANSFER_RESULT_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER: _ClassVar[TransferResult]
    TRANSFER_RESULT_TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS: _ClassVar[TransferResult]
    TRANSFER_RESULT_PENDING_TRANSFER_NOT_FOUND: _ClassVar[TransferResult]
    TRANSFER_RESULT_PENDING_TRANSFER_NOT_PENDING: _ClassVar[TransferResult]
    TRANSFER_RESULT_PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS: _ClassVar[TransferResult]
    TRANSFER_RESULT_PENDING_TRANSFER_HAS_DIFFERENT_LEDGER: _ClassVar[TransferResult]
    TRANSFER_RESULT_PENDING_TRANSFER_ALREADY_POSTED: _ClassVar[TransferResult]
    TRANSFER_RESULT_PENDING_TRANSFER_ALREADY_VOIDED: _ClassVar[TransferResult]
    TRANSFER_RESULT_EXCEEDS_PENDING_TRANSFER_AMOUNT: _ClassVar[TransferResult]
    TRANSFER_RESULT_EXCEEDS_CREDITS: _ClassVar[TransferResult]
    TRANSFER_RESULT_EXCEEDS_DEBITS: _ClassVar[TransferResult]
    TRANSFER_RESULT_OVERFLOWS: _ClassVar[TransferResult]

class ReportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_FORMAT_UNSPECIFIED: _ClassVar[ReportFormat]
    REPORT_FORMAT_CSV: _ClassVar[ReportFormat]
    REPORT_FORMAT_XLSX: _ClassVar[ReportFormat]

class ChartFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHART_FORMAT_UNSPECIFIED: _ClassVar[ChartFormat]
    CHART_FORMAT_PNG: _ClassVar[ChartFormat]
    CHART_FORMAT_SVG: _ClassVar[ChartFormat]

class StatementFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATEMENT_FORMAT_UNSPECIFIED: _ClassVar[StatementFormat]
    STATEMENT_FORMAT_CSV: _ClassVar[StatementFormat]
    STATEMENT_FORMAT_CAMT053: _ClassVar[StatementFormat]
FUND_TYPE_UNSPECIFIED: FundType
FUND_TYPE_EMPLOYMENT_SUBSIDY: FundType
FUND_TYPE_UNEMPLOYMENT_INSURANCE: FundType
FUND_TYPE_SKILLS_UPGRADING: FundType
FUND_TYPE_OTHER: FundType
PAYMENT_STATE_UNSPECIFIED: PaymentState
PAYMENT_STATE_QUEUED: PaymentState
PAYMENT_STATE_SUBMITTED: PaymentState
PAYMENT_STATE_IN_DOUBT: PaymentState
PAYMENT_STATE_SETTLED: PaymentState
PAYMENT_STATE_FAILED: PaymentState
PAYMENT_STATE_AWAITING_FUNDS: PaymentState
PAYMENT_STATE_RETURNED: PaymentState
TRANSFER_CODE_UNSPECIFIED: TransferCode
TRANSFER_CODE_ALLOCATION: TransferCode
TRANSFER_CODE_COMMITMENT: TransferCode
TRANSFER_CODE_SUBMISSION: TransferCode
TRANSFER_CODE_SETTLEMENT: TransferCode
TRANSFER_CODE_RELEASE: TransferCode
TRANSFER_CODE_RETURN: TransferCode
TRANSFER_CODE_RECOVERY: TransferCode
TRANSFER_CODE_CORRECTION: TransferCode
TRANSFER_RESULT_UNSPECIFIED: TransferResult
TRANSFER_RESULT_OK: TransferResult
TRANSFER_RESULT_EXISTS: TransferResult
TRANSFER_RESULT_EXISTS_WITH_DIFFERENT_FIELDS: TransferResult
TRANSFER_RESULT_LINKED_EVENT_FAILED: TransferResult
TRANSFER_RESULT_LINKED_EVENT_CHAIN_OPEN: TransferResult
TRANSFER_RESULT_ID_INVALID: TransferResult
TRANSFER_RESULT_FLAGS_ARE_MUTUALLY_EXCLUSIVE: TransferResult
TRANSFER_RESULT_AMOUNT_INVALID: TransferResult
TRANSFER_RESULT_USER_DATA_TOO_LONG: TransferResult
TRANSFER_RESULT_PENDING_ID_MUST_BE_EMPTY: TransferResult
TRANSFER_RESULT_PENDING_ID_REQUIRED: TransferResult
TRANSFER_RESULT_ACCOUNTS_MUST_BE_DIFFERENT: TransferResult
TRANSFER_RESULT_DEBIT_ACCOUNT_NOT_FOUND: TransferResult
TRANSFER_RESULT_CREDIT_ACCOUNT_NOT_FOUND: TransferResult
TRANSFER_RESULT_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER: TransferResult
TRANSFER_RESULT_TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS: TransferResult
TRANSFER_RESULT_PENDING_TRANSFER_NOT_FOUND: TransferResult
TRANSFER_RESULT_PENDING_TRANSFER_NOT_PENDING: TransferResult
TRANSFER_RESULT_PENDING_TRANSFER_HAS_DIFFERENT_ACCOUNTS: TransferResult
TRANSFER_RESULT_PENDING_TRANSFER_HAS_DIFFERENT_LEDGER: TransferResult
TRANSFER_RESULT_PENDING_TRANSFER_ALREADY_POSTED: TransferResult
TRANSFER_RESULT_PENDING_TRANSFER_ALREADY_VOIDED: TransferResult
TRANSFER_RESULT_EXCEEDS_PENDING_TRANSFER_AMOUNT: TransferResult
TRANSFER_RESULT_EXCEEDS_CREDITS: TransferResult
TRANSFER_RESULT_EXCEEDS_DEBITS: TransferResult
TRANSFER_RESULT_OVERFLOWS: TransferResult
REPORT_FORMAT_UNSPECIFIED: ReportFormat
REPORT_FORMAT_CSV: ReportFormat
REPORT_FORMAT_XLSX: ReportFormat
CHART_FORMAT_UNSPECIFIED: ChartFormat
CHART_FORMAT_PNG: ChartFormat
CHART_FORMAT_SVG: ChartFormat
STATEMENT_FORMAT_UNSPECIFIED: StatementFormat
STATEMENT_FORMAT_CSV: StatementFormat
STATEMENT_FORMAT_CAMT053: StatementFormat

class Fund(_message.Message):
    __slots__ = ("fund_code", "name", "fund_type", "allocated_fen", "available_fen", "payable_fen", "disbursed_fen", "created_at", "committed_fen", "in_transit_fen", "returned_fen", "recovered_fen")
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FUND_TYPE_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_FEN_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FEN_FIELD_NUMBER: _ClassVar[int]
    PAYABLE_FEN_FIELD_NUMBER: _ClassVar[int]
    DISBURSED_FEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FEN_FIELD_NUMBER: _ClassVar[int]
    IN_TRANSIT_FEN_FIELD_NUMBER: _ClassVar[int]
    RETURNED_FEN_FIELD_NUMBER: _ClassVar[int]
    RECOVERED_FEN_FIELD_NUMBER: _ClassVar[int]
    fund_code: str
    name: str
    fund_type: FundType
    allocated_fen: int
    available_fen: int
    payable_fen: int
    disbursed_fen: int
    created_at: _timestamp_pb2.Timestamp
    committed_fen: int
    in_transit_fen: int
    returned_fen: int
    recovered_fen: int
    def __init__(self, fund_code: _Optional[str] = ..., name: _Optional[str] = ..., fund_type: _Optional[_Union[FundType, str]] = ..., allocated_fen: _Optional[int] = ..., available_fen: _Optional[int] = ..., payable_fen: _Optional[int] = ..., disbursed_fen: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., committed_fen: _Optional[int] = ..., in_transit_fen: _Optional[int] = ..., returned_fen: _Optional[int] = ..., recovered_fen: _Optional[int] = ...) -> None: ...

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

class Transfer(_message.Message):
    __slots__ = ("id", "debit_account_id", "credit_account_id", "amount", "ledger", "code", "linked", "pending", "post_pending_transfer", "void_pending_transfer", "pending_id", "user_data", "timestamp", "sequence")
    ID_FIELD_NUMBER: _ClassVar[int]
    DEBIT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    LEDGER_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    LINKED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    POST_PENDING_TRANSFER_FIELD_NUMBER: _ClassVar[int]
    VOID_PENDING_TRANSFER_FIELD_NUMBER: _ClassVar[int]
    PENDING_ID_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    debit_account_id: str
    credit_account_id: str
    amount: int
    ledger: str
    code: TransferCode
    linked: bool
    pending: bool
    post_pending_transfer: bool
    void_pending_transfer: bool
    pending_id: str
    user_data: str
    timestamp: _timestamp_pb2.Timestamp
    sequence: int
    def __init__(self, id: _Optional[str] = ..., debit_account_id: _Optional[str] = ..., credit_account_id: _Optional[str] = ..., amount: _Optional[int] = ..., ledger: _Optional[str] = ..., code: _Optional[_Union[TransferCode, str]] = ..., linked: _Optional[bool] = ..., pending: _Optional[bool] = ..., post_pending_transfer: _Optional[bool] = ..., void_pending_transfer: _Optional[bool] = ..., pending_id: _Optional[str] = ..., user_data: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class CreateTransfersRequest(_message.Message):
    __slots__ = ("transfers",)
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    transfers: _containers.RepeatedCompositeFieldContainer[Transfer]
    def __init__(self, transfers: _Optional[_Iterable[_Union[Transfer, _Mapping]]] = ...) -> None: ...

class TransferResultEntry(_message.Message):
    __slots__ = ("index", "result", "result_name")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RESULT_NAME_FIELD_NUMBER: _ClassVar[int]
    index: int
    result: TransferResult
    result_name: str
    def __init__(self, index: _Optional[int] = ..., result: _Optional[_Union[TransferResult, str]] = ..., result_name: _Optional[str] = ...) -> None: ...

class CreateTransfersResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TransferResultEntry]
    def __init__(self, results: _Optional[_Iterable[_Union[TransferResultEntry, _Mapping]]] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("id", "ledger", "role", "debits_must_not_exceed_credits", "credits_must_not_exceed_debits", "debits_pending", "debits_posted", "credits_pending", "credits_posted")
    ID_FIELD_NUMBER: _ClassVar[int]
    LEDGER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DEBITS_MUST_NOT_EXCEED_CREDITS_FIELD_NUMBER: _ClassVar[int]
    CREDITS_MUST_NOT_EXCEED_DEBITS_FIELD_NUMBER: _ClassVar[int]
    DEBITS_PENDING_FIELD_NUMBER: _ClassVar[int]
    DEBITS_POSTED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_PENDING_FIELD_NUMBER: _ClassVar[int]
    CREDITS_POSTED_FIELD_NUMBER: _ClassVar[int]
    id: str
    ledger: str
    role: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    def __init__(self, id: _Optional[str] = ..., ledger: _Optional[str] = ..., role: _Optional[str] = ..., debits_must_not_exceed_credits: _Optional[bool] = ..., credits_must_not_exceed_debits: _Optional[bool] = ..., debits_pending: _Optional[int] = ..., debits_posted: _Optional[int] = ..., credits_pending: _Optional[int] = ..., credits_posted: _Optional[int] = ...) -> None: ...

class LookupAccountsRequest(_message.Message):
    __slots__ = ("account_ids",)
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, account_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class LookupAccountsResponse(_message.Message):
    __slots__ = ("accounts",)
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ...) -> None: ...

class GetAccountHistoryRequest(_message.Message):
    __slots__ = ("account_id", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetAccountHistoryResponse(_message.Message):
    __slots__ = ("transfers", "next_page_token")
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transfers: _containers.RepeatedCompositeFieldContainer[Transfer]
    next_page_token: str
    def __init__(self, transfers: _Optional[_Iterable[_Union[Transfer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetBalancesAsOfRequest(_message.Message):
    __slots__ = ("account_ids", "as_of")
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, account_ids: _Optional[_Iterable[str]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AccountBalance(_message.Message):
    __slots__ = ("account_id", "debits_pending", "debits_posted", "credits_pending", "credits_posted")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DEBITS_PENDING_FIELD_NUMBER: _ClassVar[int]
    DEBITS_POSTED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_PENDING_FIELD_NUMBER: _ClassVar[int]
    CREDITS_POSTED_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    def __init__(self, account_id: _Optional[str] = ..., debits_pending: _Optional[int] = ..., debits_posted: _Optional[int] = ..., credits_pending: _Optional[int] = ..., credits_posted: _Optional[int] = ...) -> None: ...

class GetBalancesAsOfResponse(_message.Message):
    __slots__ = ("balances", "as_of")
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    balances: _containers.RepeatedCompositeFieldContainer[AccountBalance]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, balances: _Optional[_Iterable[_Union[AccountBalance, _Mapping]]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VerifyLedgerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BalanceDifference(_message.Message):
    __slots__ = ("account_id", "stored", "recomputed")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    RECOMPUTED_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    stored: AccountBalance
    recomputed: AccountBalance
    def __init__(self, account_id: _Optional[str] = ..., stored: _Optional[_Union[AccountBalance, _Mapping]] = ..., recomputed: _Optional[_Union[AccountBalance, _Mapping]] = ...) -> None: ...

class VerifyLedgerResponse(_message.Message):
    __slots__ = ("differences", "accounts_checked", "transfers_checked")
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    TRANSFERS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    differences: _containers.RepeatedCompositeFieldContainer[BalanceDifference]
    accounts_checked: int
    transfers_checked: int
    def __init__(self, differences: _Optional[_Iterable[_Union[BalanceDifference, _Mapping]]] = ..., accounts_checked: _Optional[int] = ..., transfers_checked: _Optional[int] = ...) -> None: ...

class GetTrialBalanceRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TrialBalanceLine(_message.Message):
    __slots__ = ("account_id", "ledger", "role", "debits_pending", "debits_posted", "credits_pending", "credits_posted", "balance", "pending")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    LEDGER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DEBITS_PENDING_FIELD_NUMBER: _ClassVar[int]
    DEBITS_POSTED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_PENDING_FIELD_NUMBER: _ClassVar[int]
    CREDITS_POSTED_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    ledger: str
    role: str
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    balance: int
    pending: int
    def __init__(self, account_id: _Optional[str] = ..., ledger: _Optional[str] = ..., role: _Optional[str] = ..., debits_pending: _Optional[int] = ..., debits_posted: _Optional[int] = ..., credits_pending: _Optional[int] = ..., credits_posted: _Optional[int] = ..., balance: _Optional[int] = ..., pending: _Optional[int] = ...) -> None: ...

class LedgerTotals(_message.Message):
    __slots__ = ("ledger", "debits_posted", "credits_posted", "debits_pending", "credits_pending", "balanced")
    LEDGER_FIELD_NUMBER: _ClassVar[int]
    DEBITS_POSTED_FIELD_NUMBER: _ClassVar[int]
    CREDITS_POSTED_FIELD_NUMBER: _ClassVar[int]
    DEBITS_PENDING_FIELD_NUMBER: _ClassVar[int]
    CREDITS_PENDING_FIELD_NUMBER: _ClassVar[int]
    BALANCED_FIELD_NUMBER: _ClassVar[int]
    ledger: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balanced: bool
    def __init__(self, ledger: _Optional[str] = ..., debits_posted: _Optional[int] = ..., credits_posted: _Optional[int] = ..., debits_pending: _Optional[int] = ..., credits_pending: _Optional[int] = ..., balanced: _Optional[bool] = ...) -> None: ...

class ReportDifference(_message.Message):
    __slots__ = ("rule", "kind", "ledger", "account_id", "amount", "description")
    RULE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LEDGER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    rule: str
    kind: str
    ledger: str
    account_id: str
    amount: int
    description: str
    def __init__(self, rule: _Optional[str] = ..., kind: _Optional[str] = ..., ledger: _Optional[str] = ..., account_id: _Optional[str] = ..., amount: _Optional[int] = ..., description: _Optional[str] = ...) -> None: ...

class GetTrialBalanceResponse(_message.Message):
    __slots__ = ("accounts", "funds", "overall", "balanced", "differences")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    FUNDS_FIELD_NUMBER: _ClassVar[int]
    OVERALL_FIELD_NUMBER: _ClassVar[int]
    BALANCED_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[TrialBalanceLine]
    funds: _containers.RepeatedCompositeFieldContainer[LedgerTotals]
    overall: LedgerTotals
    balanced: bool
    differences: _containers.RepeatedCompositeFieldContainer[ReportDifference]
    def __init__(self, accounts: _Optional[_Iterable[_Union[TrialBalanceLine, _Mapping]]] = ..., funds: _Optional[_Iterable[_Union[LedgerTotals, _Mapping]]] = ..., overall: _Optional[_Union[LedgerTotals, _Mapping]] = ..., balanced: _Optional[bool] = ..., differences: _Optional[_Iterable[_Union[ReportDifference, _Mapping]]] = ...) -> None: ...

class GetFundStatementRequest(_message.Message):
    __slots__ = ("fund_code", "from_day", "to_day", "format")
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    fund_code: str
    from_day: _date_pb2.Date
    to_day: _date_pb2.Date
    format: ReportFormat
    def __init__(self, fund_code: _Optional[str] = ..., from_day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., to_day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., format: _Optional[_Union[ReportFormat, str]] = ...) -> None: ...

class FundPosition(_message.Message):
    __slots__ = ("funds_held", "appropriated", "available", "commitments", "free_to_commit", "payables", "in_transit", "disbursed", "returned", "recovered")
    FUNDS_HELD_FIELD_NUMBER: _ClassVar[int]
    APPROPRIATED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    COMMITMENTS_FIELD_NUMBER: _ClassVar[int]
    FREE_TO_COMMIT_FIELD_NUMBER: _ClassVar[int]
    PAYABLES_FIELD_NUMBER: _ClassVar[int]
    IN_TRANSIT_FIELD_NUMBER: _ClassVar[int]
    DISBURSED_FIELD_NUMBER: _ClassVar[int]
    RETURNED_FIELD_NUMBER: _ClassVar[int]
    RECOVERED_FIELD_NUMBER: _ClassVar[int]
    funds_held: int
    appropriated: int
    available: int
    commitments: int
    free_to_commit: int
    payables: int
    in_transit: int
    disbursed: int
    returned: int
    recovered: int
    def __init__(self, funds_held: _Optional[int] = ..., appropriated: _Optional[int] = ..., available: _Optional[int] = ..., commitments: _Optional[int] = ..., free_to_commit: _Optional[int] = ..., payables: _Optional[int] = ..., in_transit: _Optional[int] = ..., disbursed: _Optional[int] = ..., returned: _Optional[int] = ..., recovered: _Optional[int] = ...) -> None: ...

class FundMovements(_message.Message):
    __slots__ = ("appropriations", "commitments_created", "commitments_posted", "commitments_released", "submitted", "disbursed", "failed", "released", "returned", "recovered", "other_held", "other_in_transit", "other_count")
    APPROPRIATIONS_FIELD_NUMBER: _ClassVar[int]
    COMMITMENTS_CREATED_FIELD_NUMBER: _ClassVar[int]
    COMMITMENTS_POSTED_FIELD_NUMBER: _ClassVar[int]
    COMMITMENTS_RELEASED_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    DISBURSED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    RETURNED_FIELD_NUMBER: _ClassVar[int]
    RECOVERED_FIELD_NUMBER: _ClassVar[int]
    OTHER_HELD_FIELD_NUMBER: _ClassVar[int]
    OTHER_IN_TRANSIT_FIELD_NUMBER: _ClassVar[int]
    OTHER_COUNT_FIELD_NUMBER: _ClassVar[int]
    appropriations: int
    commitments_created: int
    commitments_posted: int
    commitments_released: int
    submitted: int
    disbursed: int
    failed: int
    released: int
    returned: int
    recovered: int
    other_held: int
    other_in_transit: int
    other_count: int
    def __init__(self, appropriations: _Optional[int] = ..., commitments_created: _Optional[int] = ..., commitments_posted: _Optional[int] = ..., commitments_released: _Optional[int] = ..., submitted: _Optional[int] = ..., disbursed: _Optional[int] = ..., failed: _Optional[int] = ..., released: _Optional[int] = ..., returned: _Optional[int] = ..., recovered: _Optional[int] = ..., other_held: _Optional[int] = ..., other_in_transit: _Optional[int] = ..., other_count: _Optional[int] = ...) -> None: ...

class CodeTotal(_message.Message):
    __slots__ = ("code", "count", "posted", "pending", "voided")
    CODE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    POSTED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    VOIDED_FIELD_NUMBER: _ClassVar[int]
    code: TransferCode
    count: int
    posted: int
    pending: int
    voided: int
    def __init__(self, code: _Optional[_Union[TransferCode, str]] = ..., count: _Optional[int] = ..., posted: _Optional[int] = ..., pending: _Optional[int] = ..., voided: _Optional[int] = ...) -> None: ...

class FundStatement(_message.Message):
    __slots__ = ("fund_code", "from_day", "to_day", "starts_at", "ends_at", "opening", "movements", "closing", "by_code", "transfer_count", "balanced", "differences")
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    OPENING_FIELD_NUMBER: _ClassVar[int]
    MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    CLOSING_FIELD_NUMBER: _ClassVar[int]
    BY_CODE_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_COUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCED_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    fund_code: str
    from_day: _date_pb2.Date
    to_day: _date_pb2.Date
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    opening: FundPosition
    movements: FundMovements
    closing: FundPosition
    by_code: _containers.RepeatedCompositeFieldContainer[CodeTotal]
    transfer_count: int
    balanced: bool
    differences: _containers.RepeatedCompositeFieldContainer[ReportDifference]
    def __init__(self, fund_code: _Optional[str] = ..., from_day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., to_day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., opening: _Optional[_Union[FundPosition, _Mapping]] = ..., movements: _Optional[_Union[FundMovements, _Mapping]] = ..., closing: _Optional[_Union[FundPosition, _Mapping]] = ..., by_code: _Optional[_Iterable[_Union[CodeTotal, _Mapping]]] = ..., transfer_count: _Optional[int] = ..., balanced: _Optional[bool] = ..., differences: _Optional[_Iterable[_Union[ReportDifference, _Mapping]]] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("file_name", "media_type", "data", "last")
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    media_type: str
    data: bytes
    last: bool
    def __init__(self, file_name: _Optional[str] = ..., media_type: _Optional[str] = ..., data: _Optional[bytes] = ..., last: _Optional[bool] = ...) -> None: ...

class FundStatementPart(_message.Message):
    __slots__ = ("statement", "chunk")
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    statement: FundStatement
    chunk: FileChunk
    def __init__(self, statement: _Optional[_Union[FundStatement, _Mapping]] = ..., chunk: _Optional[_Union[FileChunk, _Mapping]] = ...) -> None: ...

class GetFundChartRequest(_message.Message):
    __slots__ = ("fund_code", "from_day", "to_day", "format")
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    fund_code: str
    from_day: _date_pb2.Date
    to_day: _date_pb2.Date
    format: ChartFormat
    def __init__(self, fund_code: _Optional[str] = ..., from_day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., to_day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., format: _Optional[_Union[ChartFormat, str]] = ...) -> None: ...

class DayFigures(_message.Message):
    __slots__ = ("day", "disbursed", "in_transit", "released", "returned")
    DAY_FIELD_NUMBER: _ClassVar[int]
    DISBURSED_FIELD_NUMBER: _ClassVar[int]
    IN_TRANSIT_FIELD_NUMBER: _ClassVar[int]
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    RETURNED_FIELD_NUMBER: _ClassVar[int]
    day: _date_pb2.Date
    disbursed: int
    in_transit: int
    released: int
    returned: int
    def __init__(self, day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., disbursed: _Optional[int] = ..., in_transit: _Optional[int] = ..., released: _Optional[int] = ..., returned: _Optional[int] = ...) -> None: ...

class GetFundChartResponse(_message.Message):
    __slots__ = ("file_name", "media_type", "data", "days")
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    media_type: str
    data: bytes
    days: _containers.RepeatedCompositeFieldContainer[DayFigures]
    def __init__(self, file_name: _Optional[str] = ..., media_type: _Optional[str] = ..., data: _Optional[bytes] = ..., days: _Optional[_Iterable[_Union[DayFigures, _Mapping]]] = ...) -> None: ...

class ReconcileStatementRequest(_message.Message):
    __slots__ = ("request_id", "fund_code", "day", "format", "chunk")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    fund_code: str
    day: _date_pb2.Date
    format: StatementFormat
    chunk: bytes
    def __init__(self, request_id: _Optional[str] = ..., fund_code: _Optional[str] = ..., day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., format: _Optional[_Union[StatementFormat, str]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ReconcileFromBankRequest(_message.Message):
    __slots__ = ("request_id", "fund_code", "day")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    fund_code: str
    day: _date_pb2.Date
    def __init__(self, request_id: _Optional[str] = ..., fund_code: _Optional[str] = ..., day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class ReconcileCategory(_message.Message):
    __slots__ = ("category", "explained", "count", "ledger_amount_fen", "statement_amount_fen")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    EXPLAINED_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    LEDGER_AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    category: str
    explained: bool
    count: int
    ledger_amount_fen: int
    statement_amount_fen: int
    def __init__(self, category: _Optional[str] = ..., explained: _Optional[bool] = ..., count: _Optional[int] = ..., ledger_amount_fen: _Optional[int] = ..., statement_amount_fen: _Optional[int] = ...) -> None: ...

class UnexplainedItem(_message.Message):
    __slots__ = ("category", "payment_id", "bank_ref", "statement_line", "ledger_amount_fen", "statement_amount_fen", "has_ledger", "has_statement", "ledger_state", "what_to_do_zh", "what_to_do_en")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BANK_REF_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_LINE_FIELD_NUMBER: _ClassVar[int]
    LEDGER_AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    HAS_LEDGER_FIELD_NUMBER: _ClassVar[int]
    HAS_STATEMENT_FIELD_NUMBER: _ClassVar[int]
    LEDGER_STATE_FIELD_NUMBER: _ClassVar[int]
    WHAT_TO_DO_ZH_FIELD_NUMBER: _ClassVar[int]
    WHAT_TO_DO_EN_FIELD_NUMBER: _ClassVar[int]
    category: str
    payment_id: str
    bank_ref: str
    statement_line: int
    ledger_amount_fen: int
    statement_amount_fen: int
    has_ledger: bool
    has_statement: bool
    ledger_state: str
    what_to_do_zh: str
    what_to_do_en: str
    def __init__(self, category: _Optional[str] = ..., payment_id: _Optional[str] = ..., bank_ref: _Optional[str] = ..., statement_line: _Optional[int] = ..., ledger_amount_fen: _Optional[int] = ..., statement_amount_fen: _Optional[int] = ..., has_ledger: _Optional[bool] = ..., has_statement: _Optional[bool] = ..., ledger_state: _Optional[str] = ..., what_to_do_zh: _Optional[str] = ..., what_to_do_en: _Optional[str] = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ("fund_code", "day", "summary", "settled_payment_ids", "returned_payment_ids", "skipped_payment_ids", "unexplained_count", "unexplained", "other_fund_lines", "other_day_lines", "report_csv", "report_chart")
    FUND_CODE_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SETTLED_PAYMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    RETURNED_PAYMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_PAYMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    UNEXPLAINED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNEXPLAINED_FIELD_NUMBER: _ClassVar[int]
    OTHER_FUND_LINES_FIELD_NUMBER: _ClassVar[int]
    OTHER_DAY_LINES_FIELD_NUMBER: _ClassVar[int]
    REPORT_CSV_FIELD_NUMBER: _ClassVar[int]
    REPORT_CHART_FIELD_NUMBER: _ClassVar[int]
    fund_code: str
    day: _date_pb2.Date
    summary: _containers.RepeatedCompositeFieldContainer[ReconcileCategory]
    settled_payment_ids: _containers.RepeatedScalarFieldContainer[str]
    returned_payment_ids: _containers.RepeatedScalarFieldContainer[str]
    skipped_payment_ids: _containers.RepeatedScalarFieldContainer[str]
    unexplained_count: int
    unexplained: _containers.RepeatedCompositeFieldContainer[UnexplainedItem]
    other_fund_lines: int
    other_day_lines: int
    report_csv: FileChunk
    report_chart: FileChunk
    def __init__(self, fund_code: _Optional[str] = ..., day: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., summary: _Optional[_Iterable[_Union[ReconcileCategory, _Mapping]]] = ..., settled_payment_ids: _Optional[_Iterable[str]] = ..., returned_payment_ids: _Optional[_Iterable[str]] = ..., skipped_payment_ids: _Optional[_Iterable[str]] = ..., unexplained_count: _Optional[int] = ..., unexplained: _Optional[_Iterable[_Union[UnexplainedItem, _Mapping]]] = ..., other_fund_lines: _Optional[int] = ..., other_day_lines: _Optional[int] = ..., report_csv: _Optional[_Union[FileChunk, _Mapping]] = ..., report_chart: _Optional[_Union[FileChunk, _Mapping]] = ...) -> None: ...
