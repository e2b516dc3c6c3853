"""Claim lines keyed on the voucher's redemption (a voucher may be redeemed again after a
rollback), and withdrawn lines with their reason.

Lines created before this revision are their voucher's first redemption, whose id is the voucher
id: they get that, so their line ids and payout request ids stay what they were.

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
    with op.batch_alter_table("claim_lines") as batch:
        batch.add_column(sa.Column("redemption_id", sa.String(40)))
        batch.add_column(sa.Column("withdrawal_reason", sa.String(200), nullable=False, server_default=""))
    op.execute("UPDATE claim_lines SET redemption_id = (SELECT claims.voucher_id FROM claims "
               "WHERE claims.claim_id = claim_lines.claim_id) WHERE kind = 'voucher_subsidy'")


def downgrade() -> None:
    with op.batch_alter_table("claim_lines") as batch:
        batch.drop_column("withdrawal_reason")
        batch.drop_column("redemption_id")
