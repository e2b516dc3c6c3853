"""Drop ix_vouchers_state: ix_vouchers_expiry (state, valid_until) starts with the state and
serves every query by state alone; a million-voucher batch paid for both (issue 7).

Revision ID: 0011
Revises: 0010
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_vouchers_state", table_name="vouchers")


def downgrade() -> None:
    op.create_index("ix_vouchers_state", "vouchers", ["state"])
