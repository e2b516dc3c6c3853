import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from skillpay.audit.v1 import audit_pb2 as _audit_pb2
from google.type import date_pb2 as _date_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InstitutionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTITUTION_STATUS_UNSPECIFIED: _ClassVar[InstitutionStatus]
    INSTITUTION_STATUS_ACTIVE: _ClassVar[InstitutionStatus]
    INSTITUTION_STATUS_REMOVED: _ClassVar[InstitutionStatus]
    INSTITUTION_STATUS_SUSPENDED: _ClassVar[InstitutionStatus]

class InstitutionNature(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTITUTION_NATURE_UNSPECIFIED: _ClassVar[InstitutionNature]
    INSTITUTION_NATURE_PUBLIC: _ClassVar[InstitutionNature]
    INSTITUTION_NATURE_PRIVATE: _ClassVar[InstitutionNature]
    INSTITUTION_NATURE_ENTERPRISE: _ClassVar[InstitutionNature]
    INSTITUTION_NATURE_OTHER: _ClassVar[InstitutionNature]

class VoucherState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOUCHER_STATE_UNSPECIFIED: _ClassVar[VoucherState]
    VOUCHER_STATE_ISSUED: _ClassVar[VoucherState]
    VOUCHER_STATE_ENROLLED: _ClassVar[VoucherState]
    VOUCHER_STATE_REDEEMED: _ClassVar[VoucherState]
    VOUCHER_STATE_PAID: _ClassVar[VoucherState]
    VOUCHER_STATE_EXPIRED: _ClassVar[VoucherState]
    VOUCHER_STATE_CANCELLED: _ClassVar[VoucherState]
    VOUCHER_STATE_REVOKED: _ClassVar[VoucherState]

class VoucherKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOUCHER_KIND_UNSPECIFIED: _ClassVar[VoucherKind]
    VOUCHER_KIND_GENERAL: _ClassVar[VoucherKind]
    VOUCHER_KIND_TARGETED: _ClassVar[VoucherKind]

class BatchMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_MODE_UNSPECIFIED: _ClassVar[BatchMode]
    BATCH_MODE_LISTED: _ClassVar[BatchMode]
    BATCH_MODE_QUOTA: _ClassVar[BatchMode]

class PayoutStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYOUT_STATUS_UNSPECIFIED: _ClassVar[PayoutStatus]
    PAYOUT_STATUS_PENDING: _ClassVar[PayoutStatus]
    PAYOUT_STATUS_FAILED: _ClassVar[PayoutStatus]
    PAYOUT_STATUS_PAID: _ClassVar[PayoutStatus]

class HardshipGroup(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HARDSHIP_GROUP_UNSPECIFIED: _ClassVar[HardshipGroup]
    HARDSHIP_GROUP_LOW_INCOME_RURAL_HOUSEHOLD: _ClassVar[HardshipGroup]
    HARDSHIP_GROUP_SUBSISTENCE_ALLOWANCE: _ClassVar[HardshipGroup]
    HARDSHIP_GROUP_EMPLOYMENT_DIFFICULTY: _ClassVar[HardshipGroup]
    HARDSHIP_GROUP_ZERO_EMPLOYMENT_FAMILY: _ClassVar[HardshipGroup]
    HARDSHIP_GROUP_RURAL_GRADUATE_NOT_IN_SCHOOL: _ClassVar[HardshipGroup]
    HARDSHIP_GROUP_URBAN_SUBSISTENCE_FAMILY: _ClassVar[HardshipGroup]

class CertificateType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CERTIFICATE_TYPE_UNSPECIFIED: _ClassVar[CertificateType]
    CERTIFICATE_TYPE_VOCATIONAL_QUALIFICATION: _ClassVar[CertificateType]
    CERTIFICATE_TYPE_SKILL_LEVEL: _ClassVar[CertificateType]
    CERTIFICATE_TYPE_SPECIAL_ABILITY: _ClassVar[CertificateType]
    CERTIFICATE_TYPE_TRAINING_QUALIFIED: _ClassVar[CertificateType]

class EmploymentSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EMPLOYMENT_SOURCE_UNSPECIFIED: _ClassVar[EmploymentSource]
    EMPLOYMENT_SOURCE_SOCIAL_INSURANCE: _ClassVar[EmploymentSource]
    EMPLOYMENT_SOURCE_LABOUR_CONTRACT: _ClassVar[EmploymentSource]
    EMPLOYMENT_SOURCE_SELF_EMPLOYMENT: _ClassVar[EmploymentSource]
INSTITUTION_STATUS_UNSPECIFIED: InstitutionStatus
INSTITUTION_STATUS_ACTIVE: InstitutionStatus
INSTITUTION_STATUS_REMOVED: InstitutionStatus
INSTITUTION_STATUS_SUSPENDED: InstitutionStatus
INSTITUTION_NATURE_UNSPECIFIED: InstitutionNature
INSTITUTION_NATURE_PUBLIC: InstitutionNature
INSTITUTION_NATURE_PRIVATE: InstitutionNature
INSTITUTION_NATURE_ENTERPRISE: InstitutionNature
INSTITUTION_NATURE_OTHER: InstitutionNature
VOUCHER_STATE_UNSPECIFIED: VoucherState
VOUCHER_STATE_ISSUED: VoucherState
VOUCHER_STATE_ENROLLED: VoucherState
VOUCHER_STATE_REDEEMED: VoucherState
VOUCHER_STATE_PAID: VoucherState
VOUCHER_STATE_EXPIRED: VoucherState
VOUCHER_STATE_CANCELLED: VoucherState
VOUCHER_STATE_REVOKED: VoucherState
VOUCHER_KIND_UNSPECIFIED: VoucherKind
VOUCHER_KIND_GENERAL: VoucherKind
VOUCHER_KIND_TARGETED: VoucherKind
BATCH_MODE_UNSPECIFIED: BatchMode
BATCH_MODE_LISTED: BatchMode
BATCH_MODE_QUOTA: BatchMode
PAYOUT_STATUS_UNSPECIFIED: PayoutStatus
PAYOUT_STATUS_PENDING: PayoutStatus
PAYOUT_STATUS_FAILED: PayoutStatus
PAYOUT_STATUS_PAID: PayoutStatus
HARDSHIP_GROUP_UNSPECIFIED: HardshipGroup
HARDSHIP_GROUP_LOW_INCOME_RURAL_HOUSEHOLD: HardshipGroup
HARDSHIP_GROUP_SUBSISTENCE_ALLOWANCE: HardshipGroup
HARDSHIP_GROUP_EMPLOYMENT_DIFFICULTY: HardshipGroup
HARDSHIP_GROUP_ZERO_EMPLOYMENT_FAMILY: HardshipGroup
HARDSHIP_GROUP_RURAL_GRADUATE_NOT_IN_SCHOOL: HardshipGroup
HARDSHIP_GROUP_URBAN_SUBSISTENCE_FAMILY: HardshipGroup
CERTIFICATE_TYPE_UNSPECIFIED: CertificateType
CERTIFICATE_TYPE_VOCATIONAL_QUALIFICATION: CertificateType
CERTIFICATE_TYPE_SKILL_LEVEL: CertificateType
CERTIFICATE_TYPE_SPECIAL_ABILITY: CertificateType
CERTIFICATE_TYPE_TRAINING_QUALIFIED: CertificateType
EMPLOYMENT_SOURCE_UNSPECIFIED: EmploymentSource
EMPLOYMENT_SOURCE_SOCIAL_INSURANCE: EmploymentSource
EMPLOYMENT_SOURCE_LABOUR_CONTRACT: EmploymentSource
EMPLOYMENT_SOURCE_SELF_EMPLOYMENT: EmploymentSource

class Occupation(_message.Message):
    __slots__ = ("code", "name", "level", "subsidy_standard_fen", "new_occupation", "created_at", "min_class_hours", "practical_oriented", "region", "effective_from", "effective_to", "version")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SUBSIDY_STANDARD_FEN_FIELD_NUMBER: _ClassVar[int]
    NEW_OCCUPATION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MIN_CLASS_HOURS_FIELD_NUMBER: _ClassVar[int]
    PRACTICAL_ORIENTED_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TO_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    level: int
    subsidy_standard_fen: int
    new_occupation: bool
    created_at: _timestamp_pb2.Timestamp
    min_class_hours: int
    practical_oriented: bool
    region: str
    effective_from: _date_pb2.Date
    effective_to: _date_pb2.Date
    version: int
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., level: _Optional[int] = ..., subsidy_standard_fen: _Optional[int] = ..., new_occupation: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., min_class_hours: _Optional[int] = ..., practical_oriented: _Optional[bool] = ..., region: _Optional[str] = ..., effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., effective_to: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class RegisterOccupationRequest(_message.Message):
    __slots__ = ("request_id", "code", "name", "level", "subsidy_standard_fen", "new_occupation", "min_class_hours", "practical_oriented", "region", "effective_from")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SUBSIDY_STANDARD_FEN_FIELD_NUMBER: _ClassVar[int]
    NEW_OCCUPATION_FIELD_NUMBER: _ClassVar[int]
    MIN_CLASS_HOURS_FIELD_NUMBER: _ClassVar[int]
    PRACTICAL_ORIENTED_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    code: str
    name: str
    level: int
    subsidy_standard_fen: int
    new_occupation: bool
    min_class_hours: int
    practical_oriented: bool
    region: str
    effective_from: _date_pb2.Date
    def __init__(self, request_id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., level: _Optional[int] = ..., subsidy_standard_fen: _Optional[int] = ..., new_occupation: _Optional[bool] = ..., min_class_hours: _Optional[int] = ..., practical_oriented: _Optional[bool] = ..., region: _Optional[str] = ..., effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class ReviseOccupationRequest(_message.Message):
    __slots__ = ("request_id", "code", "level", "name", "subsidy_standard_fen", "new_occupation", "min_class_hours", "practical_oriented", "region", "effective_from")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUBSIDY_STANDARD_FEN_FIELD_NUMBER: _ClassVar[int]
    NEW_OCCUPATION_FIELD_NUMBER: _ClassVar[int]
    MIN_CLASS_HOURS_FIELD_NUMBER: _ClassVar[int]
    PRACTICAL_ORIENTED_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    code: str
    level: int
    name: str
    subsidy_standard_fen: int
    new_occupation: bool
    min_class_hours: int
    practical_oriented: bool
    region: str
    effective_from: _date_pb2.Date
    def __init__(self, request_id: _Optional[str] = ..., code: _Optional[str] = ..., level: _Optional[int] = ..., name: _Optional[str] = ..., subsidy_standard_fen: _Optional[int] = ..., new_occupation: _Optional[bool] = ..., min_class_hours: _Optional[int] = ..., practical_oriented: _Optional[bool] = ..., region: _Optional[str] = ..., effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class ListOccupationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "code_prefix", "level", "region", "in_force_on")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CODE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    IN_FORCE_ON_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    code_prefix: str
    level: int
    region: str
    in_force_on: _date_pb2.Date
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., code_prefix: _Optional[str] = ..., level: _Optional[int] = ..., region: _Optional[str] = ..., in_force_on: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class ListOccupationsResponse(_message.Message):
    __slots__ = ("occupations", "next_page_token")
    OCCUPATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    occupations: _containers.RepeatedCompositeFieldContainer[Occupation]
    next_page_token: str
    def __init__(self, occupations: _Optional[_Iterable[_Union[Occupation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class BankAccount(_message.Message):
    __slots__ = ("account_number", "account_name", "bank_code")
    ACCOUNT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    BANK_CODE_FIELD_NUMBER: _ClassVar[int]
    account_number: str
    account_name: str
    bank_code: str
    def __init__(self, account_number: _Optional[str] = ..., account_name: _Optional[str] = ..., bank_code: _Optional[str] = ...) -> None: ...

class Institution(_message.Message):
    __slots__ = ("institution_id", "name", "credit_code", "address", "occupation_codes", "status", "created_at", "nature", "region", "bank_account", "status_reason", "status_changed_at")
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NATURE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    BANK_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    name: str
    credit_code: str
    address: str
    occupation_codes: _containers.RepeatedScalarFieldContainer[str]
    status: InstitutionStatus
    created_at: _timestamp_pb2.Timestamp
    nature: InstitutionNature
    region: str
    bank_account: BankAccount
    status_reason: str
    status_changed_at: _timestamp_pb2.Timestamp
    def __init__(self, institution_id: _Optional[str] = ..., name: _Optional[str] = ..., credit_code: _Optional[str] = ..., address: _Optional[str] = ..., occupation_codes: _Optional[_Iterable[str]] = ..., status: _Optional[_Union[InstitutionStatus, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., nature: _Optional[_Union[InstitutionNature, str]] = ..., region: _Optional[str] = ..., bank_account: _Optional[_Union[BankAccount, _Mapping]] = ..., status_reason: _Optional[str] = ..., status_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterInstitutionRequest(_message.Message):
    __slots__ = ("request_id", "name", "credit_code", "address", "occupation_codes", "nature", "region", "bank_account")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODES_FIELD_NUMBER: _ClassVar[int]
    NATURE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    BANK_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    name: str
    credit_code: str
    address: str
    occupation_codes: _containers.RepeatedScalarFieldContainer[str]
    nature: InstitutionNature
    region: str
    bank_account: BankAccount
    def __init__(self, request_id: _Optional[str] = ..., name: _Optional[str] = ..., credit_code: _Optional[str] = ..., address: _Optional[str] = ..., occupation_codes: _Optional[_Iterable[str]] = ..., nature: _Optional[_Union[InstitutionNature, str]] = ..., region: _Optional[str] = ..., bank_account: _Optional[_Union[BankAccount, _Mapping]] = ...) -> None: ...

class SuspendInstitutionRequest(_message.Message):
    __slots__ = ("request_id", "institution_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    institution_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., institution_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReinstateInstitutionRequest(_message.Message):
    __slots__ = ("request_id", "institution_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    institution_id: str
    def __init__(self, request_id: _Optional[str] = ..., institution_id: _Optional[str] = ...) -> None: ...

class RemoveInstitutionRequest(_message.Message):
    __slots__ = ("request_id", "institution_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    institution_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., institution_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UpdateInstitutionBankAccountRequest(_message.Message):
    __slots__ = ("request_id", "institution_id", "bank_account")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    BANK_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    institution_id: str
    bank_account: BankAccount
    def __init__(self, request_id: _Optional[str] = ..., institution_id: _Optional[str] = ..., bank_account: _Optional[_Union[BankAccount, _Mapping]] = ...) -> None: ...

class ListInstitutionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "status", "region", "occupation_code", "name_contains")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    status: InstitutionStatus
    region: str
    occupation_code: str
    name_contains: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[_Union[InstitutionStatus, str]] = ..., region: _Optional[str] = ..., occupation_code: _Optional[str] = ..., name_contains: _Optional[str] = ...) -> None: ...

class ListInstitutionsResponse(_message.Message):
    __slots__ = ("institutions", "next_page_token")
    INSTITUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    institutions: _containers.RepeatedCompositeFieldContainer[Institution]
    next_page_token: str
    def __init__(self, institutions: _Optional[_Iterable[_Union[Institution, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetInstitutionRequest(_message.Message):
    __slots__ = ("institution_id",)
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    institution_id: str
    def __init__(self, institution_id: _Optional[str] = ...) -> None: ...

class Voucher(_message.Message):
    __slots__ = ("voucher_id", "holder_name", "holder_id_masked", "occupation_code", "level", "fund_source", "batch_id", "state", "institution_id", "certificate_id", "value_fen", "issued_at", "valid_until", "enrolled_at", "redeemed_at", "paid_at", "payment_id", "real_person_verified", "payout_status", "payout_failure_reason", "rate_percent", "valuation_rule", "standard_fen", "employment_window_start", "employment_window_end", "topped_up_fen", "topped_up_at", "top_up_id", "redemption_no", "redemption_id", "state_reason", "ended_at", "recovery_due_fen", "kind", "bound_institution_id", "valid_from")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    HOLDER_ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    ENROLLED_AT_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_AT_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REAL_PERSON_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYOUT_FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    RATE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    VALUATION_RULE_FIELD_NUMBER: _ClassVar[int]
    STANDARD_FEN_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    TOPPED_UP_FEN_FIELD_NUMBER: _ClassVar[int]
    TOPPED_UP_AT_FIELD_NUMBER: _ClassVar[int]
    TOP_UP_ID_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_NO_FIELD_NUMBER: _ClassVar[int]
    REDEMPTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_DUE_FEN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BOUND_INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    holder_name: str
    holder_id_masked: str
    occupation_code: str
    level: int
    fund_source: str
    batch_id: str
    state: VoucherState
    institution_id: str
    certificate_id: str
    value_fen: int
    issued_at: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    enrolled_at: _timestamp_pb2.Timestamp
    redeemed_at: _timestamp_pb2.Timestamp
    paid_at: _timestamp_pb2.Timestamp
    payment_id: str
    real_person_verified: bool
    payout_status: PayoutStatus
    payout_failure_reason: str
    rate_percent: int
    valuation_rule: str
    standard_fen: int
    employment_window_start: _date_pb2.Date
    employment_window_end: _date_pb2.Date
    topped_up_fen: int
    topped_up_at: _timestamp_pb2.Timestamp
    top_up_id: str
    redemption_no: int
    redemption_id: str
    state_reason: str
    ended_at: _timestamp_pb2.Timestamp
    recovery_due_fen: int
    kind: VoucherKind
    bound_institution_id: str
    valid_from: _timestamp_pb2.Timestamp
    def __init__(self, voucher_id: _Optional[str] = ..., holder_name: _Optional[str] = ..., holder_id_masked: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., fund_source: _Optional[str] = ..., batch_id: _Optional[str] = ..., state: _Optional[_Union[VoucherState, str]] = ..., institution_id: _Optional[str] = ..., certificate_id: _Optional[str] = ..., value_fen: _Optional[int] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., enrolled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., redeemed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paid_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payment_id: _Optional[str] = ..., real_person_verified: _Optional[bool] = ..., payout_status: _Optional[_Union[PayoutStatus, str]] = ..., payout_failure_reason: _Optional[str] = ..., rate_percent: _Optional[int] = ..., valuation_rule: _Optional[str] = ..., standard_fen: _Optional[int] = ..., employment_window_start: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., employment_window_end: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., topped_up_fen: _Optional[int] = ..., topped_up_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., top_up_id: _Optional[str] = ..., redemption_no: _Optional[int] = ..., redemption_id: _Optional[str] = ..., state_reason: _Optional[str] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recovery_due_fen: _Optional[int] = ..., kind: _Optional[_Union[VoucherKind, str]] = ..., bound_institution_id: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("batch_id", "fund_source", "valid_from", "valid_until", "kind", "occupation_code", "level", "institution_id", "mode", "quota", "issued_count", "rejected_count", "created_at")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    ISSUED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    fund_source: str
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    kind: VoucherKind
    occupation_code: str
    level: int
    institution_id: str
    mode: BatchMode
    quota: int
    issued_count: int
    rejected_count: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, batch_id: _Optional[str] = ..., fund_source: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[VoucherKind, str]] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., institution_id: _Optional[str] = ..., mode: _Optional[_Union[BatchMode, str]] = ..., quota: _Optional[int] = ..., issued_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateBatchRequest(_message.Message):
    __slots__ = ("request_id", "batch_id", "fund_source", "valid_from", "valid_until", "kind", "occupation_code", "level", "institution_id", "mode", "quota")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    batch_id: str
    fund_source: str
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    kind: VoucherKind
    occupation_code: str
    level: int
    institution_id: str
    mode: BatchMode
    quota: int
    def __init__(self, request_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., fund_source: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[VoucherKind, str]] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., institution_id: _Optional[str] = ..., mode: _Optional[_Union[BatchMode, str]] = ..., quota: _Optional[int] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("batch_id",)
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    def __init__(self, batch_id: _Optional[str] = ...) -> None: ...

class BatchPerson(_message.Message):
    __slots__ = ("resident_id", "name")
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    resident_id: str
    name: str
    def __init__(self, resident_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class IssueBatchChunk(_message.Message):
    __slots__ = ("request_id", "batch_id", "chunk_no", "first_row", "persons")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_NO_FIELD_NUMBER: _ClassVar[int]
    FIRST_ROW_FIELD_NUMBER: _ClassVar[int]
    PERSONS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    batch_id: str
    chunk_no: int
    first_row: int
    persons: _containers.RepeatedCompositeFieldContainer[BatchPerson]
    def __init__(self, request_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., chunk_no: _Optional[int] = ..., first_row: _Optional[int] = ..., persons: _Optional[_Iterable[_Union[BatchPerson, _Mapping]]] = ...) -> None: ...

class RowRejection(_message.Message):
    __slots__ = ("row", "field", "description")
    ROW_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    row: int
    field: str
    description: str
    def __init__(self, row: _Optional[int] = ..., field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class BatchProgress(_message.Message):
    __slots__ = ("batch_id", "chunk_no", "issued_in_chunk", "rejected_in_chunk", "issued_total", "rejected_total", "rejections")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_NO_FIELD_NUMBER: _ClassVar[int]
    ISSUED_IN_CHUNK_FIELD_NUMBER: _ClassVar[int]
    REJECTED_IN_CHUNK_FIELD_NUMBER: _ClassVar[int]
    ISSUED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    REJECTED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    chunk_no: int
    issued_in_chunk: int
    rejected_in_chunk: int
    issued_total: int
    rejected_total: int
    rejections: _containers.RepeatedCompositeFieldContainer[RowRejection]
    def __init__(self, batch_id: _Optional[str] = ..., chunk_no: _Optional[int] = ..., issued_in_chunk: _Optional[int] = ..., rejected_in_chunk: _Optional[int] = ..., issued_total: _Optional[int] = ..., rejected_total: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[RowRejection, _Mapping]]] = ...) -> None: ...

class ClaimVoucherRequest(_message.Message):
    __slots__ = ("request_id", "batch_id", "resident_id", "name")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    batch_id: str
    resident_id: str
    name: str
    def __init__(self, request_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., resident_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class IssueVoucherRequest(_message.Message):
    __slots__ = ("request_id", "resident_id", "name", "occupation_code", "level", "fund_source", "batch_id", "valid_until")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    FUND_SOURCE_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    resident_id: str
    name: str
    occupation_code: str
    level: int
    fund_source: str
    batch_id: str
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., resident_id: _Optional[str] = ..., name: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., fund_source: _Optional[str] = ..., batch_id: _Optional[str] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EnrolVoucherRequest(_message.Message):
    __slots__ = ("request_id", "voucher_id", "institution_id", "real_person_verified", "presentation_token", "occupation_code", "level")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_ID_FIELD_NUMBER: _ClassVar[int]
    REAL_PERSON_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    PRESENTATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    voucher_id: str
    institution_id: str
    real_person_verified: bool
    presentation_token: str
    occupation_code: str
    level: int
    def __init__(self, request_id: _Optional[str] = ..., voucher_id: _Optional[str] = ..., institution_id: _Optional[str] = ..., real_person_verified: _Optional[bool] = ..., presentation_token: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ...) -> None: ...

class CreatePresentationTokenRequest(_message.Message):
    __slots__ = ("request_id", "voucher_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    voucher_id: str
    def __init__(self, request_id: _Optional[str] = ..., voucher_id: _Optional[str] = ...) -> None: ...

class PresentationToken(_message.Message):
    __slots__ = ("token", "voucher_id", "expires_at", "qr_png")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    QR_PNG_FIELD_NUMBER: _ClassVar[int]
    token: str
    voucher_id: str
    expires_at: _timestamp_pb2.Timestamp
    qr_png: bytes
    def __init__(self, token: _Optional[str] = ..., voucher_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., qr_png: _Optional[bytes] = ...) -> None: ...

class Person(_message.Message):
    __slots__ = ("name", "id_masked", "resident_id", "hardship_groups", "hardship_effective_from")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    HARDSHIP_GROUPS_FIELD_NUMBER: _ClassVar[int]
    HARDSHIP_EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    name: str
    id_masked: str
    resident_id: str
    hardship_groups: _containers.RepeatedScalarFieldContainer[HardshipGroup]
    hardship_effective_from: _date_pb2.Date
    def __init__(self, name: _Optional[str] = ..., id_masked: _Optional[str] = ..., resident_id: _Optional[str] = ..., hardship_groups: _Optional[_Iterable[_Union[HardshipGroup, str]]] = ..., hardship_effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class GetPersonRequest(_message.Message):
    __slots__ = ("resident_id",)
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    resident_id: str
    def __init__(self, resident_id: _Optional[str] = ...) -> None: ...

class SetHardshipGroupsRequest(_message.Message):
    __slots__ = ("request_id", "resident_id", "groups", "effective_from")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    resident_id: str
    groups: _containers.RepeatedScalarFieldContainer[HardshipGroup]
    effective_from: _date_pb2.Date
    def __init__(self, request_id: _Optional[str] = ..., resident_id: _Optional[str] = ..., groups: _Optional[_Iterable[_Union[HardshipGroup, str]]] = ..., effective_from: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class Certificate(_message.Message):
    __slots__ = ("certificate_id", "certificate_number", "certificate_type", "holder_name", "holder_id_masked", "occupation_code", "level", "issued_on", "redeemed_voucher_id", "recorded_at", "issuer")
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    HOLDER_ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    ISSUED_ON_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    certificate_number: str
    certificate_type: CertificateType
    holder_name: str
    holder_id_masked: str
    occupation_code: str
    level: int
    issued_on: _date_pb2.Date
    redeemed_voucher_id: str
    recorded_at: _timestamp_pb2.Timestamp
    issuer: str
    def __init__(self, certificate_id: _Optional[str] = ..., certificate_number: _Optional[str] = ..., certificate_type: _Optional[_Union[CertificateType, str]] = ..., holder_name: _Optional[str] = ..., holder_id_masked: _Optional[str] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., issued_on: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., redeemed_voucher_id: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., issuer: _Optional[str] = ...) -> None: ...

class RecordCertificateRequest(_message.Message):
    __slots__ = ("request_id", "resident_id", "name", "certificate_number", "certificate_type", "occupation_code", "level", "issued_on")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    OCCUPATION_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    ISSUED_ON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    resident_id: str
    name: str
    certificate_number: str
    certificate_type: CertificateType
    occupation_code: str
    level: int
    issued_on: _date_pb2.Date
    def __init__(self, request_id: _Optional[str] = ..., resident_id: _Optional[str] = ..., name: _Optional[str] = ..., certificate_number: _Optional[str] = ..., certificate_type: _Optional[_Union[CertificateType, str]] = ..., occupation_code: _Optional[str] = ..., level: _Optional[int] = ..., issued_on: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class GetCertificateRequest(_message.Message):
    __slots__ = ("certificate_id",)
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    def __init__(self, certificate_id: _Optional[str] = ...) -> None: ...

class RedeemVoucherRequest(_message.Message):
    __slots__ = ("request_id", "voucher_id", "certificate_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    voucher_id: str
    certificate_id: str
    def __init__(self, request_id: _Optional[str] = ..., voucher_id: _Optional[str] = ..., certificate_id: _Optional[str] = ...) -> None: ...

class GetVoucherRequest(_message.Message):
    __slots__ = ("voucher_id",)
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    def __init__(self, voucher_id: _Optional[str] = ...) -> None: ...

class ListVouchersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "state")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    state: VoucherState
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[VoucherState, str]] = ...) -> None: ...

class ListVouchersResponse(_message.Message):
    __slots__ = ("vouchers", "next_page_token")
    VOUCHERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    vouchers: _containers.RepeatedCompositeFieldContainer[Voucher]
    next_page_token: str
    def __init__(self, vouchers: _Optional[_Iterable[_Union[Voucher, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class EmploymentRecord(_message.Message):
    __slots__ = ("employment_id", "person_name", "person_id_masked", "employer_credit_code", "employer_name", "start_date", "source", "recorded_by", "recorded_at")
    EMPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_NAME_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_NAME_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    employment_id: str
    person_name: str
    person_id_masked: str
    employer_credit_code: str
    employer_name: str
    start_date: _date_pb2.Date
    source: EmploymentSource
    recorded_by: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, employment_id: _Optional[str] = ..., person_name: _Optional[str] = ..., person_id_masked: _Optional[str] = ..., employer_credit_code: _Optional[str] = ..., employer_name: _Optional[str] = ..., start_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., source: _Optional[_Union[EmploymentSource, str]] = ..., recorded_by: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordEmploymentRequest(_message.Message):
    __slots__ = ("request_id", "resident_id", "name", "employer_credit_code", "employer_name", "start_date", "source")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    EMPLOYER_NAME_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    resident_id: str
    name: str
    employer_credit_code: str
    employer_name: str
    start_date: _date_pb2.Date
    source: EmploymentSource
    def __init__(self, request_id: _Optional[str] = ..., resident_id: _Optional[str] = ..., name: _Optional[str] = ..., employer_credit_code: _Optional[str] = ..., employer_name: _Optional[str] = ..., start_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., source: _Optional[_Union[EmploymentSource, str]] = ...) -> None: ...

class ListEmploymentRequest(_message.Message):
    __slots__ = ("resident_id", "page_size", "page_token")
    RESIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    resident_id: str
    page_size: int
    page_token: str
    def __init__(self, resident_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEmploymentResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[EmploymentRecord]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[EmploymentRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExpireDueVouchersRequest(_message.Message):
    __slots__ = ("request_id", "limit")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    limit: int
    def __init__(self, request_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ExpireDueVouchersResponse(_message.Message):
    __slots__ = ("expired_count",)
    EXPIRED_COUNT_FIELD_NUMBER: _ClassVar[int]
    expired_count: int
    def __init__(self, expired_count: _Optional[int] = ...) -> None: ...

class CancelVoucherRequest(_message.Message):
    __slots__ = ("request_id", "voucher_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    voucher_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., voucher_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeVoucherRequest(_message.Message):
    __slots__ = ("request_id", "voucher_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    voucher_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., voucher_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RollBackRedemptionRequest(_message.Message):
    __slots__ = ("request_id", "voucher_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    voucher_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., voucher_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
