"""A fund's transfers by time: ``transfers(ledger, timestamp)``.

A fund statement (GetFundStatement, GetFundChart) reads the fund's transfers stamped in its
period (``ledger = ? AND timestamp >= ? AND timestamp < ?``); no index served that, so every
statement scanned all transfers of every fund. The balances as of an instant and an account's
history go by account (``ix_transfers_debit`` / ``ix_transfers_credit``) and need nothing new.

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_transfers_ledger_timestamp", "transfers", ["ledger", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_transfers_ledger_timestamp", table_name="transfers")
