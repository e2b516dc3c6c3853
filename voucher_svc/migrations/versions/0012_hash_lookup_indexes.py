"""Hash indexes on PostgreSQL (B-trees elsewhere) for the two look-ups a million-voucher batch adds
to most: a person's vouchers (holder_id_lookup) and the audit trail's aggregate id. Both are
queried by equality only, and a hash index on these long random keys is a quarter of the B-tree's
size, so it stays in cache while the batch grows (issue 7).

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_records_aggregate", table_name="audit_records")
    op.create_index("ix_audit_records_aggregate_id", "audit_records", ["aggregate_id"], postgresql_using="hash")
    op.drop_index("ix_vouchers_holder_id_lookup", table_name="vouchers")
    op.create_index("ix_vouchers_holder_id_lookup", "vouchers", ["holder_id_lookup"], postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_audit_records_aggregate_id", table_name="audit_records")
    op.create_index("ix_audit_records_aggregate", "audit_records", ["aggregate_id", "id"])
    op.drop_index("ix_vouchers_holder_id_lookup", table_name="vouchers")
    op.create_index("ix_vouchers_holder_id_lookup", "vouchers", ["holder_id_lookup"])
