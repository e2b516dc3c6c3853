"""Claims and the messaging tables.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from skillpay.messaging import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("claim_id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("voucher_id", sa.String(40), unique=True),
        sa.Column("payee_kind", sa.String(16), nullable=False),
        sa.Column("payee_name", sa.String(64), nullable=False),
        sa.Column("payee_id_masked", sa.String(18), nullable=False),
        sa.Column("payee_id_sealed", sa.LargeBinary, nullable=False),
        sa.Column("payee_id_lookup", sa.String(64), nullable=False),
        sa.Column("institution_id", sa.String(40), nullable=False),
        sa.Column("occupation_code", sa.String(32), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("fund_source", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True)),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("payment_id", sa.String(64)),
        sa.Column("failure_reason", sa.String(200)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_claims_state", "claims", ["state"])
    create_messaging_tables(op)


def downgrade() -> None:
    for table in ("claims", "idempotency_keys", "consumer_positions", "inbox", "outbox"):
        op.drop_table(table)
