"""Claims show how a voucher's value came about (A2-A4) and take one top-up line (A5); top-ups
that arrive before their claim are kept.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("standard_fen", sa.BigInteger, nullable=False, server_default="0"))
    with op.batch_alter_table("claim_lines") as batch:
        batch.add_column(sa.Column("rule", sa.String(4), nullable=False, server_default=""))
        batch.add_column(sa.Column("rate_percent", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "pending_top_ups",
        sa.Column("top_up_id", sa.String(40), primary_key=True),
        sa.Column("voucher_id", sa.String(40), nullable=False),
        sa.Column("claim_id", sa.String(40), nullable=False),
        sa.Column("value_fen", sa.BigInteger, nullable=False),
        sa.Column("top_up_fen", sa.BigInteger, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pending_top_ups_claim", "pending_top_ups", ["claim_id"])


def downgrade() -> None:
    op.drop_table("pending_top_ups")
    with op.batch_alter_table("claim_lines") as batch:
        batch.drop_column("rate_percent")
        batch.drop_column("rule")
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("standard_fen")
