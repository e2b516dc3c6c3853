"""The ledger service's tables (SQLAlchemy Core). The schema itself comes from migrations/."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from skillpay.audit_trail import add_audit_table
from skillpay.messaging import add_messaging_tables, add_parked_events_table

metadata = MetaData()
# The messaging tables live in this database too; one metadata describes all that the
# migrations build (tests/integration/test_schema_matches_migrations.py checks it).
add_messaging_tables(metadata)
add_parked_events_table(metadata)
add_audit_table(metadata)

funds = Table(
    "funds", metadata,
    Column("fund_code", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("fund_type", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

accounts = Table(
    "accounts", metadata,
    Column("account_code", String(100), primary_key=True),
    Column("fund_code", String(64), ForeignKey("funds.fund_code"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    # F2: the balance (credits - debits) may never go below zero.
    Column("non_negative", Boolean, nullable=False),
    CheckConstraint("NOT non_negative OR credits_posted >= debits_posted", name="ck_accounts_non_negative"),
)

# The pre-engine journal (migration 0001): kept (C8) and read by ListJournalEntries, no longer
# written; migration 0006 carried its balances into the engine.
journal_entries = Table(
    "journal_entries", metadata,
    Column("entry_id", String(40), primary_key=True),
    Column("fund_code", String(64), ForeignKey("funds.fund_code"), nullable=False),
    Column("kind", String(32), nullable=False),
    # Budget allocations name their request id ("budget:" + up to 128 characters).
    Column("reference", String(200), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    # The same cause never posts twice (a claim committed once, a payment disbursed once).
    UniqueConstraint("kind", "reference", name="uq_entry_kind_reference"),
    Index("ix_journal_entries_fund", "fund_code", "entry_id"),
)

postings = Table(
    "postings", metadata,
    Column("entry_id", String(40), ForeignKey("journal_entries.entry_id"), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("account_code", String(100), ForeignKey("accounts.account_code"), nullable=False),
    Column("debit_fen", BigInteger, nullable=False),
    Column("credit_fen", BigInteger, nullable=False),
    CheckConstraint("debit_fen >= 0 AND credit_fen >= 0", name="ck_postings_positive"),
)

payments = Table(
    "payments", metadata,
    # The requester's payout request id: the idempotency key here and at the bank.
    Column("payment_id", String(64), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("fund_code", String(64), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("payee_name", String(64), nullable=False),
    Column("payee_id_masked", String(18), nullable=False),
    Column("payee_id_sealed", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False),
    Column("bank_ref", String(64), nullable=False),
    Column("failure_reason", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("settled_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False),
    # How often the same payout request arrived again and was refused (restores, replays).
    Column("duplicate_requests", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    # Sent to the bank (C7): a person's social security card, an institution's account (migration 0006).
    Column("payee_card_number", String(32), nullable=False),
    Column("payee_account_number", String(32), nullable=False),
    Column("payee_bank_code", String(12), nullable=False),
    # The claim line this payout pays while it is live (not failed or returned), else NULL: one
    # claim line never has two live payouts, whatever races (unique; NULLs are distinct).
    Column("live_claim_line", String(100)),
    Index("ix_payments_state", "state", "payment_id"),
    Index("uq_payments_live_claim_line", "live_claim_line", unique=True),
)

# The requester's references (claim_id, voucher_id, ...): opaque here, kept for filtering and
# echoed in payment events.
payment_references = Table(
    "payment_references", metadata,
    Column("payment_id", String(64), ForeignKey("payments.payment_id"), primary_key=True),
    Column("ref_key", String(32), primary_key=True),
    Column("ref_value", String(100), nullable=False),
    Index("ix_payment_references_value", "ref_key", "ref_value"),
)

# The transfer engine (ledger_svc.domain.transfers; migration 0005). Accounts carry four running
# totals that always equal the sum of their transfers (VerifyLedger recomputes them).
ledger_accounts = Table(
    "ledger_accounts", metadata,
    Column("id", String(80), primary_key=True),
    Column("ledger", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("flags", Integer, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0",
                    name="ck_ledger_accounts_totals"),
    # F2, once more in the database: a flagged account is never overdrawn.
    CheckConstraint("(flags & 1) = 0 OR debits_pending + debits_posted <= credits_posted",
                    name="ck_ledger_accounts_debits_within_credits"),
    CheckConstraint("(flags & 2) = 0 OR credits_pending + credits_posted <= debits_posted",
                    name="ck_ledger_accounts_credits_within_debits"),
    Index("ix_ledger_accounts_ledger", "ledger", "role"),
)

# Append-only (X2): never updated, nothing deleted. ``seq`` is the order rows were written in
# (history pages, "as of"); ``id`` the client's. A pending transfer is posted or voided when a
# transfer names it as ``pending_id`` (unique: resolved at most once; NULL for the others).
transfers = Table(
    "transfers", metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False),
    Column("debit_account_id", String(80), nullable=False),
    Column("credit_account_id", String(80), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("ledger", String(64), nullable=False),
    Column("code", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("pending_id", String(64)),
    Column("user_data", String(100), nullable=False),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    UniqueConstraint("id", name="uq_transfers_id"),
    UniqueConstraint("pending_id", name="uq_transfers_pending_id"),
    CheckConstraint("amount >= 0", name="ck_transfers_amount"),
    Index("ix_transfers_debit", "debit_account_id", "seq"),
    Index("ix_transfers_credit", "credit_account_id", "seq"),
    Index("ix_transfers_user_data", "user_data"),
    Index("ix_transfers_ledger_timestamp", "ledger", "timestamp"),  # a fund's period (statements), 0008
)
