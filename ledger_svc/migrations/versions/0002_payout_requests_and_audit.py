"""Payments keyed by the requester's payout request id, with opaque references; the audit trail.

The ledger no longer knows claims or vouchers: their ids move from columns of payments into
payment_references. Refused duplicate payout requests are counted per payment.

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
    references = op.create_table(
        "payment_references",
        sa.Column("payment_id", sa.String(64), sa.ForeignKey("payments.payment_id"), primary_key=True),
        sa.Column("ref_key", sa.String(32), primary_key=True),
        sa.Column("ref_value", sa.String(100), nullable=False),
    )
    op.create_index("ix_payment_references_value", "payment_references", ["ref_key", "ref_value"])
    payments = sa.table("payments", sa.column("payment_id"), sa.column("claim_id"), sa.column("voucher_id"))
    rows = op.get_bind().execute(sa.select(payments)).all()
    moved = [dict(payment_id=r.payment_id, ref_key=k, ref_value=v)
             for r in rows for k, v in (("claim_id", r.claim_id), ("voucher_id", r.voucher_id)) if v]
    if moved:
        op.bulk_insert(references, moved)
    op.drop_index("ix_payments_voucher", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("claim_id")
        batch.drop_column("voucher_id")
        batch.add_column(sa.Column("duplicate_requests", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("payments") as batch:
        # The default only filled existing rows; the code always writes the column.
        batch.alter_column("duplicate_requests", server_default=None)


def downgrade() -> None:
    raise NotImplementedError("payments cannot get back a single claim and voucher column without loss")
