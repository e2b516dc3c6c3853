"""Funds, accounts, the journal, payments, and the messaging tables.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funds",
        sa.Column("fund_code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("fund_type", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("account_code", sa.String(100), primary_key=True),
        sa.Column("fund_code", sa.String(64), sa.ForeignKey("funds.fund_code"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("debits_posted", sa.BigInteger, nullable=False),
        sa.Column("credits_posted", sa.BigInteger, nullable=False),
        sa.Column("non_negative", sa.Boolean, nullable=False),
        sa.CheckConstraint("NOT non_negative OR credits_posted >= debits_posted", name="ck_accounts_non_negative"),
    )
    op.create_table(
        "journal_entries",
        sa.Column("entry_id", sa.String(40), primary_key=True),
        sa.Column("fund_code", sa.String(64), sa.ForeignKey("funds.fund_code"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "reference", name="uq_entry_kind_reference"),
    )
    op.create_index("ix_journal_entries_fund", "journal_entries", ["fund_code", "entry_id"])
    op.create_table(
        "postings",
        sa.Column("entry_id", sa.String(40), sa.ForeignKey("journal_entries.entry_id"), primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("account_code", sa.String(100), sa.ForeignKey("accounts.account_code"), nullable=False),
        sa.Column("debit_fen", sa.BigInteger, nullable=False),
        sa.Column("credit_fen", sa.BigInteger, nullable=False),
        sa.CheckConstraint("debit_fen >= 0 AND credit_fen >= 0", name="ck_postings_positive"),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String(64), primary_key=True),
        sa.Column("claim_id", sa.String(40), nullable=False, unique=True),
        sa.Column("voucher_id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("fund_code", sa.String(64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("payee_name", sa.String(64), nullable=False),
        sa.Column("payee_id_masked", sa.String(18), nullable=False),
        sa.Column("payee_id_sealed", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("bank_ref", sa.String(64), nullable=False),
        sa.Column("failure_reason", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("settled_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_payments_state", "payments", ["state", "payment_id"])
    op.create_index("ix_payments_voucher", "payments", ["voucher_id"])
    # The shared messaging tables (skillpay.messaging) as they were at revision 0001, written out
    # so later edits to the live tables cannot change what this revision builds.
    op.create_table(
        "outbox",
        # SQLite only auto-increments INTEGER PRIMARY KEY columns.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("aggregate_id", sa.String(100), nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("kafka_partition", sa.Integer),
        sa.Column("kafka_offset", sa.BigInteger),
        sa.Column("broker_epoch", sa.String(36)),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"])
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "consumer_positions",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("request_id", sa.String(200), primary_key=True),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("payments", "postings", "journal_entries", "accounts", "funds", "idempotency_keys", "consumer_positions", "inbox", "outbox"):
        op.drop_table(table)
