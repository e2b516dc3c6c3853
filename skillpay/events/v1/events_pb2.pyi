import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import date_pb2 as _date_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventEnvelope(_message.Message):
    __slots__ = ("event_id", "event_type", "aggregate_id", "occurred_at", "producer", "payload", "trace_context")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    event_type: str
    aggregate_id: str
    occurred_at: _timestamp_pb2.Timestamp
    producer: str
    payload: bytes
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., aggregate_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., producer: _Optional[str] = ..., payload: _Optional[bytes] = ..., trace_context: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PersonRef(_message.Message):
    __slots__ = ("name", "id_masked", "id_sealed", "id_lookup", "card_number", "account_number", "bank_code")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    ID_SEALED_FIELD_NUMBER: _ClassVar[int]
    ID_LOOKUP_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BANK_CODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    id_masked: str
    id_sealed: bytes
    id_lookup: str
    card_number: str
    account_number: str
    bank_code: str
    def __init__(self, name: _Optional[str] = ..., id_masked: _Optional[str] = ..., id_sealed: _Optional[bytes] = ..., id_lookup: _Optional[str] = ..., card_number: _Optional[str] = ..., account_number: _Optional[str] = ..., bank_code: _Optional[str] = ...) -> None: ...

class VoucherRedeemed(_message.Message):
    __slots__ = ("voucher_id", "holder", "institution_id", "occupation_code", "level", "certificate_id", "certificate_type", "value_fen", "fund_source", "redeemed_at", "rate_percent", "valuation_rule", "standard_fen", "employment_window_end", "redemption_id", "redemption_no")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_AT_FIELD_NUMBER: _ClassVar[int]
    RATE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    VALUATION_RULE_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FEN_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_NO_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    holder: PersonRef
    institution_id: str
    occupation_code: str
    level: int
    certificate_id: str
    certificate_type: str
    value_fen: int
    fund_source: str
    redeemed_at: _timestamp_pb2.Timestamp
    rate_percent: int
    valuation_rule: str
    standard_fen: int
    employment_window_end: _date_pb2.Date
    redemption_id: str
    redemption_no: int
    def __init__(self, voucher_id: _Optional[str] = ..., holder: _Optional[_Union[PersonRef, _Mapping]] = ..., institution_id: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., certificate_id: _Optional[str] = ..., certificate_type: _Optional[str] = ..., value_fen: _Optional[int] = ..., fund_source: _Optional[str] = ..., redeemed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rate_percent: _Optional[int] = ..., valuation_rule: _Optional[str] = ..., standard_fen: _Optional[int] = ..., employment_window_end: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., redemption_id: _Optional[str] = ..., redemption_no: _Optional[int] = ...) -> None: ...

class VoucherIssued(_message.Message):
    __slots__ = ("voucher_id", "holder", "kind", "occupation_code", "level", "fund_source", "batch_id", "valid_until", "issued_at")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    holder: PersonRef
    kind: str
    occupation_code: str
    level: int
    fund_source: str
    batch_id: str
    valid_until: _timestamp_pb2.Timestamp
    issued_at: _timestamp_pb2.Timestamp
    def __init__(self, voucher_id: _Optional[str] = ..., holder: _Optional[_Union[PersonRef, _Mapping]] = ..., kind: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., fund_source: _Optional[str] = ..., batch_id: _Optional[str] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VoucherEnrolled(_message.Message):
    __slots__ = ("voucher_id", "institution_id", "occupation_code", "level", "enrolled_at")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_AT_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    institution_id: str
    occupation_code: str
    level: int
    enrolled_at: _timestamp_pb2.Timestamp
    def __init__(self, voucher_id: _Optional[str] = ..., institution_id: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., enrolled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VoucherPaid(_message.Message):
    __slots__ = ("voucher_id", "payment_id", "redemption_id", "value_fen", "paid_at")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    payment_id: str
    redemption_id: str
    value_fen: int
    paid_at: _timestamp_pb2.Timestamp
    def __init__(self, voucher_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., redemption_id: _Optional[str] = ..., value_fen: _Optional[int] = ..., paid_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PersonHardshipGroupsSet(_message.Message):
    __slots__ = ("person", "groups", "effective_from", "set_at")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    SET_AT_FIELD_NUMBER: _ClassVar[int]
    person: PersonRef
    groups: _containers.RepeatedScalarFieldContainer[str]
    effective_from: _date_pb2.Date
    set_at: _timestamp_pb2.Timestamp
    def __init__(self, person: _Optional[_Union[PersonRef, _Mapping]] = ..., groups: _Optional[_Iterable[str]] = ..., effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., set_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VoucherExpired(_message.Message):
    __slots__ = ("voucher_id", "valid_until", "expired_at")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_AT_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    valid_until: _timestamp_pb2.Timestamp
    expired_at: _timestamp_pb2.Timestamp
    def __init__(self, voucher_id: _Optional[str] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expired_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VoucherCancelled(_message.Message):
    __slots__ = ("voucher_id", "reason", "cancelled_at")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_AT_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    reason: str
    cancelled_at: _timestamp_pb2.Timestamp
    def __init__(self, voucher_id: _Optional[str] = ..., reason: _Optional[str] = ..., cancelled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VoucherRedemptionRolledBack(_message.Message):
    __slots__ = ("voucher_id", "redemption_id", "redemption_no", "certificate_id", "value_fen", "reason", "rolled_back_at")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_NO_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ROLLED_BACK_AT_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    redemption_id: str
    redemption_no: int
    certificate_id: str
    value_fen: int
    reason: str
    rolled_back_at: _timestamp_pb2.Timestamp
    def __init__(self, voucher_id: _Optional[str] = ..., redemption_id: _Optional[str] = ..., redemption_no: _Optional[int] = ..., certificate_id: _Optional[str] = ..., value_fen: _Optional[int] = ..., reason: _Optional[str] = ..., rolled_back_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VoucherRevoked(_message.Message):
    __slots__ = ("voucher_id", "reason", "previous_state", "withdrawn_redemption_id", "recovery_due_fen", "revoked_at")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_DUE_FEN_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    reason: str
    previous_state: str
    withdrawn_redemption_id: str
    recovery_due_fen: int
    revoked_at: _timestamp_pb2.Timestamp
    def __init__(self, voucher_id: _Optional[str] = ..., reason: _Optional[str] = ..., previous_state: _Optional[str] = ..., withdrawn_redemption_id: _Optional[str] = ..., recovery_due_fen: _Optional[int] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VoucherToppedUp(_message.Message):
    __slots__ = ("top_up_id", "voucher_id", "holder", "institution_id", "occupation_code", "level", "certificate_id", "value_fen", "top_up_fen", "standard_fen", "fund_source", "employment_start", "topped_up_at")
    TOP_UP_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    TOP_UP_FEN_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FEN_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_START_FIELD_NUMBER: _ClassVar[int]
    TOPPED_UP_AT_FIELD_NUMBER: _ClassVar[int]
    top_up_id: str
    voucher_id: str
    holder: PersonRef
    institution_id: str
    occupation_code: str
    level: int
    certificate_id: str
    value_fen: int
    top_up_fen: int
    standard_fen: int
    fund_source: str
    employment_start: _date_pb2.Date
    topped_up_at: _timestamp_pb2.Timestamp
    def __init__(self, top_up_id: _Optional[str] = ..., voucher_id: _Optional[str] = ..., holder: _Optional[_Union[PersonRef, _Mapping]] = ..., institution_id: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., certificate_id: _Optional[str] = ..., value_fen: _Optional[int] = ..., top_up_fen: _Optional[int] = ..., standard_fen: _Optional[int] = ..., fund_source: _Optional[str] = ..., employment_start: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., topped_up_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EmploymentRecorded(_message.Message):
    __slots__ = ("employment_id", "person", "employer_credit_code", "employer_name", "start_date", "source", "recorded_by", "recorded_at")
    EMPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_NAME_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    employment_id: str
    person: PersonRef
    employer_credit_code: str
    employer_name: str
    start_date: _date_pb2.Date
    source: str
    recorded_by: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, employment_id: _Optional[str] = ..., person: _Optional[_Union[PersonRef, _Mapping]] = ..., employer_credit_code: _Optional[str] = ..., employer_name: _Optional[str] = ..., start_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., source: _Optional[str] = ..., recorded_by: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VoucherBatchIssued(_message.Message):
    __slots__ = ("batch_id", "chunk_no", "issued_count", "kind", "fund_source", "occupation_code", "level", "institution_id", "valid_from", "valid_until", "issued_at")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_NO_FIELD_NUMBER: _ClassVar[int]
    ISSUED_COUNT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    chunk_no: int
    issued_count: int
    kind: str
    fund_source: str
    occupation_code: str
    level: int
    institution_id: str
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    issued_at: _timestamp_pb2.Timestamp
    def __init__(self, batch_id: _Optional[str] = ..., chunk_no: _Optional[int] = ..., issued_count: _Optional[int] = ..., kind: _Optional[str] = ..., fund_source: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., institution_id: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PayoutRequested(_message.Message):
    __slots__ = ("payout_request_id", "claim_id", "claim_line_id", "line_kind", "attempt", "payee", "channel", "amount_fen", "fund_source", "references", "requested_at")
    class ReferencesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAYOUT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLAIM_ID_FIELD_NUMBER: _ClassVar[int]
    CLAIM_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_KIND_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PAYEE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    payout_request_id: str
    claim_id: str
    claim_line_id: str
    line_kind: str
    attempt: int
    payee: PersonRef
    channel: str
    amount_fen: int
    fund_source: str
    references: _containers.ScalarMap[str, str]
    requested_at: _timestamp_pb2.Timestamp
    def __init__(self, payout_request_id: _Optional[str] = ..., claim_id: _Optional[str] = ..., claim_line_id: _Optional[str] = ..., line_kind: _Optional[str] = ..., attempt: _Optional[int] = ..., payee: _Optional[_Union[PersonRef, _Mapping]] = ..., channel: _Optional[str] = ..., amount_fen: _Optional[int] = ..., fund_source: _Optional[str] = ..., references: _Optional[_Mapping[str, str]] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PaymentSettled(_message.Message):
    __slots__ = ("payment_id", "amount_fen", "fund_source", "bank_ref", "settled_at", "references")
    class ReferencesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    BANK_REF_FIELD_NUMBER: _ClassVar[int]
    SETTLED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    amount_fen: int
    fund_source: str
    bank_ref: str
    settled_at: _timestamp_pb2.Timestamp
    references: _containers.ScalarMap[str, str]
    def __init__(self, payment_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., fund_source: _Optional[str] = ..., bank_ref: _Optional[str] = ..., settled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., references: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PaymentFailed(_message.Message):
    __slots__ = ("payment_id", "amount_fen", "fund_source", "reason", "failed_at", "references")
    class ReferencesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FAILED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    amount_fen: int
    fund_source: str
    reason: str
    failed_at: _timestamp_pb2.Timestamp
    references: _containers.ScalarMap[str, str]
    def __init__(self, payment_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., fund_source: _Optional[str] = ..., reason: _Optional[str] = ..., failed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., references: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PaymentReturned(_message.Message):
    __slots__ = ("payment_id", "amount_fen", "fund_source", "reason", "return_code", "returned_at", "references")
    class ReferencesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RETURN_CODE_FIELD_NUMBER: _ClassVar[int]
    RETURNED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    amount_fen: int
    fund_source: str
    reason: str
    return_code: str
    returned_at: _timestamp_pb2.Timestamp
    references: _containers.ScalarMap[str, str]
    def __init__(self, payment_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., fund_source: _Optional[str] = ..., reason: _Optional[str] = ..., return_code: _Optional[str] = ..., returned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., references: _Optional[_Mapping[str, str]] = ...) -> None: ...

class InstitutionStatusChanged(_message.Message):
    __slots__ = ("institution_id", "status", "previous_status", "reason", "changed_at")
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    status: str
    previous_status: str
    reason: str
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, institution_id: _Optional[str] = ..., status: _Optional[str] = ..., previous_status: _Optional[str] = ..., reason: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
