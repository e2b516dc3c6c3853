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
