"""Valuation (A2-A4) and top-ups (A5) on vouchers; employment evidence per person.

Vouchers redeemed before this revision keep their value; their rule stays "" and A5 never tops
them up.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vouchers") as batch:
        batch.add_column(sa.Column("rate_percent", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("valuation_rule", sa.String(4), nullable=False, server_default=""))
        batch.add_column(sa.Column("standard_fen", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("employment_window_start", sa.Date))
        batch.add_column(sa.Column("employment_window_end", sa.Date))
        batch.add_column(sa.Column("topped_up_fen", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("topped_up_at", sa.DateTime(timezone=True)))
    op.create_table(
        "employment_records",
        sa.Column("employment_id", sa.String(40), primary_key=True),
        sa.Column("person_name", sa.String(64), nullable=False),
        sa.Column("person_id_lookup", sa.String(64), nullable=False),
        sa.Column("person_id_sealed", sa.LargeBinary, nullable=False),
        sa.Column("person_id_masked", sa.String(18), nullable=False),
        sa.Column("employer_credit_code", sa.String(18), nullable=False),
        sa.Column("employer_name", sa.String(64), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_employment_records_person_id_lookup", "employment_records", ["person_id_lookup"])


def downgrade() -> None:
    op.drop_table("employment_records")
    with op.batch_alter_table("vouchers") as batch:
        for column in ("topped_up_at", "topped_up_fen", "employment_window_end", "employment_window_start",
                       "standard_fen", "valuation_rule", "rate_percent"):
            batch.drop_column(column)
