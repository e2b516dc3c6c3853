"""Who may do what in the voucher service: every command and every query, in one table.

``tests/unit/test_permissions.py`` walks it against the commands and the gRPC service, so nothing
is left open by omission; the bus refuses anything not listed.
"""

from skillpay.actors import ActorKind

ADMIN, INSTITUTION, REVIEWER, FINANCE, SERVICE, PERSON = (
    ActorKind.ADMIN, ActorKind.INSTITUTION, ActorKind.REVIEWER, ActorKind.FINANCE, ActorKind.SERVICE, ActorKind.PERSON)
STAFF = frozenset({ADMIN, REVIEWER, FINANCE})

PERMISSIONS: dict[str, frozenset[ActorKind]] = {
    # commands
    "RegisterOccupation": frozenset({ADMIN}),
    "RegisterInstitution": frozenset({ADMIN}),
    "IssueVoucher": frozenset({ADMIN}),
    "EnrolVoucher": frozenset({INSTITUTION, ADMIN}),
    "CreateBatch": frozenset({ADMIN}),
    "IssueBatchChunk": frozenset({ADMIN}),
    "IssueBatchVouchers": frozenset({ADMIN}),  # the stream; each chunk is an IssueBatchChunk
    # V1, V2: a person claims only for themselves (the handler checks the subject is their look-up hash).
    "ClaimVoucher": frozenset({PERSON}),
    "RecordCertificate": frozenset({INSTITUTION, ADMIN}),
    "RedeemVoucher": frozenset({INSTITUTION, ADMIN}),
    "MarkVoucherPaid": frozenset({SERVICE}),
    "MarkVoucherPayoutFailed": frozenset({SERVICE}),
    # queries
    "ListOccupations": STAFF | {INSTITUTION, SERVICE, PERSON},
    "GetInstitution": STAFF | {INSTITUTION, SERVICE, PERSON},
    "GetCertificate": STAFF | {INSTITUTION, SERVICE},
    "GetVoucher": STAFF | {INSTITUTION, SERVICE},
    "GetBatch": STAFF | {SERVICE},
    "ListVouchers": STAFF | {SERVICE},
    "ListAuditRecords": STAFF,
    # operations (skillpay.ops.v1.Operations): events the consumer parked
    "ListParkedEvents": frozenset({ADMIN}),
    "ReplayParkedEvent": frozenset({ADMIN}),
}
