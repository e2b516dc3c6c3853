"""Who may do what in the ledger service: every command and every query, in one table."""

from skillpay.actors import ActorKind

ADMIN, REVIEWER, FINANCE, SERVICE, INSTITUTION = (
    ActorKind.ADMIN, ActorKind.REVIEWER, ActorKind.FINANCE, ActorKind.SERVICE, ActorKind.INSTITUTION)
SERVICE_ONLY = frozenset({SERVICE})

PERMISSIONS: dict[str, frozenset[ActorKind]] = {
    # commands
    "OpenFund": frozenset({FINANCE}),
    "AllocateBudget": frozenset({FINANCE}),
    "RequestPayout": SERVICE_ONLY,
    "CommitFunds": SERVICE_ONLY,
    "StartSubmission": SERVICE_ONLY,
    "ReturnToQueue": SERVICE_ONLY,
    "MarkInDoubt": SERVICE_ONLY,
    "ApplyBankStatus": SERVICE_ONLY,
    "ApplyBankAnswers": SERVICE_ONLY,
    "ReconcileStatement": frozenset({FINANCE, SERVICE}),
    "ReconcileFromBank": frozenset({FINANCE, SERVICE}),
    # the transfer engine (issue 8): money moves for finance and the ledger's own callers
    "CreateTransfers": frozenset({FINANCE, SERVICE}),
    # queries
    "GetFund": frozenset({FINANCE, ADMIN, REVIEWER, SERVICE}),
    "ListFunds": frozenset({FINANCE, ADMIN, REVIEWER, SERVICE}),
    "ListJournalEntries": frozenset({FINANCE, ADMIN}),
    "GetPayment": frozenset({FINANCE, ADMIN, REVIEWER, SERVICE}),
    "ListPayments": frozenset({FINANCE, ADMIN, REVIEWER, SERVICE}),
    "ListAuditRecords": frozenset({FINANCE, ADMIN, REVIEWER}),
    "LookupAccounts": frozenset({FINANCE, ADMIN, REVIEWER, SERVICE}),
    "GetAccountHistory": frozenset({FINANCE, ADMIN, REVIEWER, SERVICE}),
    "GetBalancesAsOf": frozenset({FINANCE, ADMIN, REVIEWER, SERVICE}),
    "VerifyLedger": frozenset({FINANCE, ADMIN}),
    # reports (issue 8): for the finance department and administrators
    "GetTrialBalance": frozenset({FINANCE, ADMIN}),
    "GetFundStatement": frozenset({FINANCE, ADMIN}),
    "GetFundChart": frozenset({FINANCE, ADMIN}),
    # operations (skillpay.ops.v1.Operations): events the consumer parked
    "ListParkedEvents": frozenset({ADMIN}),
    "ReplayParkedEvent": frozenset({ADMIN}),
}
