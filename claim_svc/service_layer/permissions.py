"""Who may do what in the claim service: every command and every query, in one table."""

from skillpay.actors import ActorKind

ADMIN, INSTITUTION, REVIEWER, FINANCE, SERVICE = (
    ActorKind.ADMIN, ActorKind.INSTITUTION, ActorKind.REVIEWER, ActorKind.FINANCE, ActorKind.SERVICE)
STAFF = frozenset({ADMIN, REVIEWER, FINANCE})

PERMISSIONS: dict[str, frozenset[ActorKind]] = {
    # commands
    "CreateVoucherClaim": frozenset({SERVICE}),
    "AddTopUpLine": frozenset({SERVICE}),
    "WithdrawClaimLine": frozenset({SERVICE}),
    "RecordPayoutSettled": frozenset({SERVICE}),
    "RecordPayoutFailed": frozenset({SERVICE}),
    "RecordPayoutReturned": frozenset({SERVICE}),
    "RequestPayoutAgain": frozenset({REVIEWER, FINANCE}),
    # queries
    "GetClaim": STAFF | {INSTITUTION, SERVICE},
    "ListClaims": STAFF | {SERVICE},
    "ListAuditRecords": STAFF,
    # operations (skillpay.ops.v1.Operations): events the consumer parked
    "ListParkedEvents": frozenset({ADMIN}),
    "ReplayParkedEvent": frozenset({ADMIN}),
}
