"""Journal references hold "budget:" and a whole request id (up to 128 characters).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journal_entries") as batch:
        batch.alter_column("reference", existing_type=sa.String(100), type_=sa.String(200), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("journal_entries") as batch:
        batch.alter_column("reference", existing_type=sa.String(200), type_=sa.String(100), existing_nullable=False)
