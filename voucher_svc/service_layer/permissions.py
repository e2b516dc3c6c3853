"""Who may do what in the voucher service: every command and every query, in one table.

``tests/unit/test_permissions.py`` walks it against the commands and the gRPC service, so nothing
is left open by omission; the bus refuses anything not listed.
"""

from skillpay.actors import ActorKind

ADMIN, INSTITUTION, REVIEWER, FINANCE, SERVICE, PERSON, EVALUATION_BODY = (
    ActorKind.ADMIN, ActorKind.INSTITUTION, ActorKind.REVIEWER, ActorKind.FINANCE, ActorKind.SERVICE, ActorKind.PERSON,
    ActorKind.EVALUATION_BODY)
STAFF = frozenset({ADMIN, REVIEWER, FINANCE})

PERMISSIONS: dict[str, frozenset[ActorKind]] = {
    # commands
    "RegisterOccupation": frozenset({ADMIN}),
    "ReviseOccupation": frozenset({ADMIN}),
    "RegisterInstitution": frozenset({ADMIN}),
    "SuspendInstitution": frozenset({ADMIN}),
    "ReinstateInstitution": frozenset({ADMIN}),
    "RemoveInstitution": frozenset({ADMIN}),
    "UpdateInstitutionBankAccount": frozenset({ADMIN}),
    "IssueVoucher": frozenset({ADMIN}),
    "EnrolVoucher": frozenset({INSTITUTION, ADMIN}),
    "CreateBatch": frozenset({ADMIN}),
    "IssueBatchChunk": frozenset({ADMIN}),
    "IssueBatchVouchers": frozenset({ADMIN}),  # the stream; each chunk is an IssueBatchChunk
    # V1, V2: a person claims only for themselves (the handler checks the subject is their look-up hash).
    "ClaimVoucher": frozenset({PERSON}),
    # V2: only the holder presents a voucher, through their own app.
    "CreatePresentationToken": frozenset({PERSON}),
    # V3: an evaluation body or the bureau records certificates; never the holder, nor an institution for itself.
    "RecordCertificate": frozenset({EVALUATION_BODY, ADMIN}),
    "SetHardshipGroups": frozenset({ADMIN}),
    "RedeemVoucher": frozenset({INSTITUTION, ADMIN}),
    "MarkVoucherPaid": frozenset({SERVICE}),
    "MarkVoucherPayoutFailed": frozenset({SERVICE}),
    "MarkVoucherPayoutReturned": frozenset({SERVICE}),
    "RecordEmployment": frozenset({ADMIN, INSTITUTION}),
    # the bureau's lifecycle decisions (V4, V5, X2); SERVICE: the process's own expiry sweep
    "ExpireDueVouchers": frozenset({ADMIN, SERVICE}),
    "CancelVoucher": frozenset({ADMIN}),
    "RevokeVoucher": frozenset({ADMIN}),
    "RollBackRedemption": frozenset({ADMIN}),
    # queries
    "ListOccupations": STAFF | {INSTITUTION, SERVICE, PERSON, EVALUATION_BODY},
    "GetInstitution": STAFF | {INSTITUTION, SERVICE, PERSON},
    "GetBatch": STAFF | {SERVICE},
    "ListInstitutions": STAFF | {INSTITUTION, SERVICE, PERSON},
    "GetCertificate": STAFF | {INSTITUTION, SERVICE, EVALUATION_BODY},
    # A person sees only their own vouchers and their own person record (service_layer/queries.py).
    "GetVoucher": STAFF | {INSTITUTION, SERVICE, PERSON},
    "ListVouchers": STAFF | {SERVICE, PERSON},
    "GetPerson": STAFF | {PERSON},
    "ListEmployment": STAFF,
    "ListAuditRecords": STAFF,
    # operations (skillpay.ops.v1.Operations): events the consumer parked
    "ListParkedEvents": frozenset({ADMIN}),
    "ReplayParkedEvent": frozenset({ADMIN}),
}
