"""Issuance batches (V4, V5), and vouchers that record their kind: a general voucher has no
occupation until enrolment; a targeted batch's voucher is bound to one institution; a batch's
validity starts at valid_from.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("fund_source", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("occupation_code", sa.String(32)),
        sa.Column("level", sa.Integer),
        sa.Column("institution_id", sa.String(40)),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("quota", sa.BigInteger, nullable=False),
        sa.Column("issued_count", sa.BigInteger, nullable=False),
        sa.Column("rejected_count", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("vouchers") as batch:
        batch.alter_column("occupation_code", existing_type=sa.String(32), nullable=True)
        batch.alter_column("level", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="targeted"))
        batch.add_column(sa.Column("bound_institution_id", sa.String(40)))
        batch.add_column(sa.Column("valid_from", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("vouchers") as batch:
        batch.drop_column("valid_from")
        batch.drop_column("bound_institution_id")
        batch.drop_column("kind")
    op.drop_table("batches")
