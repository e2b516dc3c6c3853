"""The claim service's tables (SQLAlchemy Core). The schema itself comes from migrations/."""

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Table

from skillpay.audit_trail import add_audit_table
from skillpay.messaging import add_messaging_tables, add_parked_events_table

metadata = MetaData()
# The messaging tables live in this database too; one metadata describes all that the
# migrations build (tests/integration/test_schema_matches_migrations.py checks it).
add_messaging_tables(metadata)
add_parked_events_table(metadata)
add_audit_table(metadata)

claims = Table(
    "claims", metadata,
    Column("claim_id", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),
    # X2: one claim per voucher, so a duplicate claim cannot even be stored.
    Column("voucher_id", String(40), unique=True),
    Column("payee_kind", String(16), nullable=False),
    Column("payee_name", String(64), nullable=False),
    Column("payee_id_masked", String(18), nullable=False),
    Column("payee_id_sealed", LargeBinary, nullable=False),
    Column("payee_id_lookup", String(64), nullable=False),
    Column("institution_id", String(40), nullable=False),
    Column("occupation_code", String(32), nullable=False),
    Column("level", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),  # the sum of the lines, for listing
    Column("fund_source", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("approved_at", DateTime(timezone=True)),
    Column("paid_at", DateTime(timezone=True)),
    Column("payment_id", String(64)),
    Column("failure_reason", String(200)),
    Column("version", Integer, nullable=False),
    # A2-A4: the occupation standard the voucher's value came from (0: not stated).
    Column("standard_fen", BigInteger, nullable=False, server_default="0"),
    Index("ix_claims_state", "state"),
)

claim_lines = Table(
    "claim_lines", metadata,
    # Derived from the fact that caused the line (see claim_svc.domain.model.line_id_for).
    Column("line_id", String(40), primary_key=True),
    Column("claim_id", String(40), ForeignKey("claims.claim_id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("state", String(24), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("failure_reason", String(200), nullable=False),
    Column("paid_at", DateTime(timezone=True)),
    # The rule the amount follows (A2-A4 for a voucher subsidy, A5 for a top-up) and its share.
    Column("rule", String(4), nullable=False, server_default=""),
    Column("rate_percent", Integer, nullable=False, server_default="0"),
    # A voucher subsidy line's cause: the voucher's redemption (the voucher id for the first).
    Column("redemption_id", String(40)),
    Column("withdrawal_reason", String(200), nullable=False, server_default=""),
    Index("ix_claim_lines_claim", "claim_id", "position"),
)

# What the ledger reported per payout request, kept even before the claim is known (a claim
# re-created after a database loss may hear of its payment before its voucher event).
payout_outcomes = Table(
    "payout_outcomes", metadata,
    Column("payout_request_id", String(40), primary_key=True),
    Column("claim_id", String(40), nullable=False),
    Column("settled", Integer, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_payout_outcomes_claim", "claim_id"),
)

# A5: top-ups that arrived before their voucher's claim (kept; the claim takes them when created).
pending_top_ups = Table(
    "pending_top_ups", metadata,
    Column("top_up_id", String(40), primary_key=True),
    Column("voucher_id", String(40), nullable=False),
    Column("claim_id", String(40), nullable=False),
    Column("value_fen", BigInteger, nullable=False),
    Column("top_up_fen", BigInteger, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_pending_top_ups_claim", "claim_id"),
)

# X2: withdrawals (rolled-back redemptions) that arrived before their voucher's claim.
pending_withdrawals = Table(
    "pending_withdrawals", metadata,
    Column("voucher_id", String(40), primary_key=True),
    Column("redemption_id", String(40), primary_key=True),
    Column("claim_id", String(40), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_pending_withdrawals_claim", "claim_id"),
)
