"""The audit trail's aggregate index becomes a hash index on PostgreSQL (a B-tree elsewhere):
records are looked up by equality on the aggregate id only, and a hash index on these long random
keys is a quarter of the B-tree's size, so it stays in cache while a batch adds millions (issue 7).

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_records_aggregate", table_name="audit_records")
    op.create_index("ix_audit_records_aggregate_id", "audit_records", ["aggregate_id"], postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_audit_records_aggregate_id", table_name="audit_records")
    op.create_index("ix_audit_records_aggregate", "audit_records", ["aggregate_id", "id"])
