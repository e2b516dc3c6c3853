"""The transfer engine's storage (issue 8, F1-F3, X2): accounts with four running totals, and
append-only transfers.

``transfers`` is never updated and nothing is deleted from it (X2). ``seq`` numbers the rows in
the order they were written (account history pages and "as of" queries follow it); a transfer's
own ``id`` is unique. A pending transfer's status is not stored apart: it is posted or voided
when a transfer names it as ``pending_id`` (unique, so it is resolved at most once), pending
otherwise.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("ledger", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("debits_pending", sa.BigInteger, nullable=False),
        sa.Column("debits_posted", sa.BigInteger, nullable=False),
        sa.Column("credits_pending", sa.BigInteger, nullable=False),
        sa.Column("credits_posted", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 "
                           "AND credits_posted >= 0", name="ck_ledger_accounts_totals"),
        # F2, once more in the database: a flagged account is never overdrawn.
        sa.CheckConstraint("(flags & 1) = 0 OR debits_pending + debits_posted <= credits_posted",
                           name="ck_ledger_accounts_debits_within_credits"),
        sa.CheckConstraint("(flags & 2) = 0 OR credits_pending + credits_posted <= debits_posted",
                           name="ck_ledger_accounts_credits_within_debits"),
    )
    op.create_index("ix_ledger_accounts_ledger", "ledger_accounts", ["ledger", "role"])
    op.create_table(
        "transfers",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("debit_account_id", sa.String(80), nullable=False),
        sa.Column("credit_account_id", sa.String(80), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("ledger", sa.String(64), nullable=False),
        sa.Column("code", sa.Integer, nullable=False),
        sa.Column("flags", sa.Integer, nullable=False),
        sa.Column("pending_id", sa.String(64)),
        sa.Column("user_data", sa.String(100), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("id", name="uq_transfers_id"),
        sa.UniqueConstraint("pending_id", name="uq_transfers_pending_id"),
        sa.CheckConstraint("amount >= 0", name="ck_transfers_amount"),
    )
    op.create_index("ix_transfers_debit", "transfers", ["debit_account_id", "seq"])
    op.create_index("ix_transfers_credit", "transfers", ["credit_account_id", "seq"])
    op.create_index("ix_transfers_user_data", "transfers", ["user_data"])


def downgrade() -> None:
    op.drop_index("ix_transfers_user_data", "transfers")
    op.drop_index("ix_transfers_credit", "transfers")
    op.drop_index("ix_transfers_debit", "transfers")
    op.drop_table("transfers")
    op.drop_index("ix_ledger_accounts_ledger", "ledger_accounts")
    op.drop_table("ledger_accounts")
