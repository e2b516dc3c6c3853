"""The voucher's life after issue (V4, V5, X2): redemption numbers, the bureau's reason, when it
ended, recoveries due; an index for the expiry sweep.

Vouchers redeemed before this revision had exactly one redemption: they get number 1, whose id
is the voucher id, so their claim lines and payout requests keep their ids.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vouchers") as batch:
        batch.add_column(sa.Column("redemption_no", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("state_reason", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("recovery_due_fen", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("recovery_payment_ids", sa.Text, nullable=False, server_default=""))
    op.execute("UPDATE vouchers SET redemption_no = 1 WHERE state IN ('redeemed', 'paid') "
               "OR certificate_id IS NOT NULL")
    op.create_index("ix_vouchers_expiry", "vouchers", ["state", "valid_until"])


def downgrade() -> None:
    op.drop_index("ix_vouchers_expiry", "vouchers")
    with op.batch_alter_table("vouchers") as batch:
        for column in ("recovery_payment_ids", "recovery_due_fen", "ended_at", "state_reason", "redemption_no"):
            batch.drop_column(column)
