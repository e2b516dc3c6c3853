"""Claim lines (one per reason to pay, with derived ids), payout outcomes, and the audit trail.

Existing claims get their one voucher-subsidy line, with the id the code derives for it.

Revision ID: 0002
Revises: 0001
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _derived(prefix: str, *facts) -> str:
    # Frozen copy of skillpay.ids.derived_id as of this revision.
    return f"{prefix}_{hashlib.sha256(chr(31).join(str(f) for f in facts).encode()).hexdigest()[:32]}"


_LINE_STATE = {"submitted": "open", "approved": "payout_requested", "paid": "paid", "rejected": "open",
               "payment_failed": "payment_failed"}


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
    lines = op.create_table(
        "claim_lines",
        sa.Column("line_id", sa.String(40), primary_key=True),
        sa.Column("claim_id", sa.String(40), sa.ForeignKey("claims.claim_id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("failure_reason", sa.String(200), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_claim_lines_claim", "claim_lines", ["claim_id", "position"])
    op.create_table(
        "payout_outcomes",
        sa.Column("payout_request_id", sa.String(40), primary_key=True),
        sa.Column("claim_id", sa.String(40), nullable=False),
        sa.Column("settled", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_payout_outcomes_claim", "payout_outcomes", ["claim_id"])
    claims = sa.table("claims", sa.column("claim_id"), sa.column("voucher_id"), sa.column("amount_fen"),
                      sa.column("state"), sa.column("paid_at"), sa.column("failure_reason"))
    rows = op.get_bind().execute(sa.select(claims)).all()
    if rows:
        op.bulk_insert(lines, [
            dict(line_id=_derived("cln", "voucher_subsidy", r.voucher_id), claim_id=r.claim_id, position=0,
                 kind="voucher_subsidy", amount_fen=r.amount_fen, state=_LINE_STATE[r.state],
                 attempt=0 if r.state in ("submitted", "rejected") else 1, failure_reason=r.failure_reason or "",
                 paid_at=r.paid_at)
            for r in rows])


def downgrade() -> None:
    for table in ("payout_outcomes", "claim_lines", "audit_records"):
        op.drop_table(table)
