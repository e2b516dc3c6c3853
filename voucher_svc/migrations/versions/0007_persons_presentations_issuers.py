"""Persons (V1), used presentation tokens (V2) and certificate issuers (V3).

- persons: the person itself (name, sealed and masked ID) and the A6 hardship groups; existing
  look-ups are filled from the person's latest voucher or certificate, and every holder of a
  voucher or certificate gets a row.
- used_presentation_tokens: a presentation token's id once it enrolled a voucher (single use).
- certificates.issuer: "bureau" or the evaluation body; filled for existing certificates from
  the audit record of their creation ("bureau" for an admin, else "<actor kind>:<subject>").

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("persons", sa.Column("name", sa.String(64)))
    op.add_column("persons", sa.Column("id_sealed", sa.LargeBinary))
    op.add_column("persons", sa.Column("id_masked", sa.String(18)))
    op.add_column("persons", sa.Column("hardship_groups", sa.Text, nullable=False, server_default=""))
    op.add_column("persons", sa.Column("hardship_effective_from", sa.Date))
    op.create_table(
        "used_presentation_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("voucher_id", sa.String(40), nullable=False),
        sa.Column("institution_id", sa.String(40), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_used_presentation_tokens_voucher_id", "used_presentation_tokens", ["voucher_id"])
    op.add_column("certificates", sa.Column("issuer", sa.String(80), nullable=False, server_default=""))
    _fill_persons()
    _fill_issuers()


def _fill_persons() -> None:
    conn = op.get_bind()
    latest: dict[str, tuple] = {}
    rows = list(conn.execute(sa.text(
        "SELECT holder_id_lookup, holder_name, holder_id_sealed, holder_id_masked, issued_at AS at FROM vouchers")))
    rows += list(conn.execute(sa.text(
        "SELECT holder_id_lookup, holder_name, holder_id_sealed, holder_id_masked, recorded_at AS at "
        "FROM certificates")))
    for lookup, name, sealed, masked, at in rows:
        if lookup not in latest or at > latest[lookup][3]:
            latest[lookup] = (name, sealed, masked, at)
    known = {r[0] for r in conn.execute(sa.text("SELECT id_lookup FROM persons"))}
    for lookup, (name, sealed, masked, _) in latest.items():
        values = {"lookup": lookup, "name": name, "sealed": bytes(sealed), "masked": masked}
        if lookup in known:
            conn.execute(sa.text("UPDATE persons SET name = :name, id_sealed = :sealed, id_masked = :masked "
                                 "WHERE id_lookup = :lookup"), values)
        else:
            conn.execute(sa.text("INSERT INTO persons (id_lookup, version, name, id_sealed, id_masked) "
                                 "VALUES (:lookup, 1, :name, :sealed, :masked)"), values)


def _fill_issuers() -> None:
    conn = op.get_bind()
    created = conn.execute(sa.text(
        "SELECT aggregate_id, actor_kind, actor_subject FROM audit_records "
        "WHERE aggregate_type = 'certificate' AND state_before = ''"))
    for certificate_id, kind, subject in created:
        issuer = "bureau" if kind == "admin" else f"{kind}:{subject}"[:80]
        conn.execute(sa.text("UPDATE certificates SET issuer = :issuer WHERE certificate_id = :id"),
                     {"issuer": issuer, "id": certificate_id})


def downgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("issuer")
    op.drop_index("ix_used_presentation_tokens_voucher_id", "used_presentation_tokens")
    op.drop_table("used_presentation_tokens")
    with op.batch_alter_table("persons") as batch:
        for column in ("hardship_effective_from", "hardship_groups", "id_masked", "id_sealed", "name"):
            batch.drop_column(column)
