"""Withdrawals (rolled-back redemptions, X2) that arrive before their voucher's claim are kept, so
the claim withdraws the line as it is created instead of paying it.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_withdrawals",
        sa.Column("voucher_id", sa.String(40), primary_key=True),
        sa.Column("redemption_id", sa.String(40), primary_key=True),
        sa.Column("claim_id", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pending_withdrawals_claim", "pending_withdrawals", ["claim_id"])


def downgrade() -> None:
    op.drop_table("pending_withdrawals")
