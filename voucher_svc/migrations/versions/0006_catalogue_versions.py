"""Dated occupation versions (A1) and institution status, nature, region and bank account (P1, X3).

Every existing occupation becomes its version 1, in force from 1990-01-01 (the earliest
certificate date) with no end, so vouchers and certificates already recorded keep their value.
Existing institutions get nature "other", no region and version 0; their status stays.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "occupation_versions",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("level", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("subsidy_standard_fen", sa.BigInteger, nullable=False),
        sa.Column("new_occupation", sa.Boolean, nullable=False),
        sa.Column("min_class_hours", sa.Integer, nullable=False),
        sa.Column("practical_oriented", sa.Boolean, nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["code", "level"], ["occupations.code", "occupations.level"],
                                name="fk_occupation_versions_entry"),
        sa.UniqueConstraint("code", "level", "effective_from", name="uq_occupation_version_start"),
        sa.CheckConstraint("effective_to IS NULL OR effective_to >= effective_from",
                           name="ck_occupation_version_dates"),
    )
    # A date literal each backend reads as a date (SQLite keeps dates as ISO text).
    earliest = "DATE '1990-01-01'" if op.get_bind().dialect.name == "postgresql" else "'1990-01-01'"
    op.execute(
        "INSERT INTO occupation_versions (code, level, version, name, subsidy_standard_fen, new_occupation, "
        "min_class_hours, practical_oriented, region, effective_from, effective_to, created_at) "
        "SELECT code, level, 1, name, subsidy_standard_fen, new_occupation, 0, false, '', " + earliest + ", NULL, "
        "created_at FROM occupations")
    with op.batch_alter_table("occupations") as batch:
        batch.drop_column("name")
        batch.drop_column("subsidy_standard_fen")
        batch.drop_column("new_occupation")
    with op.batch_alter_table("institutions") as batch:
        batch.add_column(sa.Column("nature", sa.String(16), nullable=False, server_default="other"))
        batch.add_column(sa.Column("region", sa.String(6), nullable=False, server_default=""))
        batch.add_column(sa.Column("bank_account_number", sa.String(32)))
        batch.add_column(sa.Column("bank_account_name", sa.String(64)))
        batch.add_column(sa.Column("bank_code", sa.String(12)))
        batch.add_column(sa.Column("status_reason", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("status_changed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        for column in ("version", "status_changed_at", "status_reason", "bank_code", "bank_account_name",
                       "bank_account_number", "region", "nature"):
            batch.drop_column(column)
    with op.batch_alter_table("occupations") as batch:
        batch.add_column(sa.Column("name", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("subsidy_standard_fen", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("new_occupation", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE occupations SET name = v.name, subsidy_standard_fen = v.subsidy_standard_fen, "
        "new_occupation = v.new_occupation FROM occupation_versions v "
        "WHERE v.code = occupations.code AND v.level = occupations.level AND v.effective_to IS NULL")
    op.drop_table("occupation_versions")
