"""The audit trail: one row per state change, with actor, command and request id.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_subject", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("aggregate_type", sa.String(32), nullable=False),
        sa.Column("aggregate_id", sa.String(100), nullable=False),
        sa.Column("state_before", sa.String(32), nullable=False),
        sa.Column("state_after", sa.String(32), nullable=False),
    )
    op.create_index("ix_audit_records_aggregate", "audit_records", ["aggregate_id", "id"])


def downgrade() -> None:
    op.drop_table("audit_records")
