"""The voucher service's tables (SQLAlchemy Core). The schema itself comes from migrations/."""

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import BigInteger

from skillpay.audit_trail import add_audit_table
from skillpay.messaging import add_messaging_tables, add_parked_events_table
from voucher_svc.domain.model import MAX_FAILURE_REASON_CHARS

metadata = MetaData()
# The messaging tables live in this database too; one metadata describes all that the
# migrations build (tests/integration/test_schema_matches_migrations.py checks it).
add_messaging_tables(metadata)
add_parked_events_table(metadata)
add_audit_table(metadata)

occupations = Table(
    "occupations", metadata,
    Column("code", String(32), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("subsidy_standard_fen", BigInteger, nullable=False),
    Column("new_occupation", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

institutions = Table(
    "institutions", metadata,
    Column("institution_id", String(40), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("address", Text, nullable=False),
    Column("occupation_codes", Text, nullable=False),  # comma-separated catalogue codes
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

vouchers = Table(
    "vouchers", metadata,
    Column("voucher_id", String(40), primary_key=True),
    Column("holder_name", String(64), nullable=False),
    Column("holder_id_lookup", String(64), nullable=False, index=True),
    Column("holder_id_sealed", LargeBinary, nullable=False),
    Column("holder_id_masked", String(18), nullable=False),
    Column("occupation_code", String(32)),  # None: a general voucher before enrolment
    Column("level", Integer),
    Column("fund_source", String(64), nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("institution_id", String(40), ForeignKey("institutions.institution_id")),
    Column("real_person_verified", Boolean, nullable=False),
    Column("certificate_id", String(40), unique=True),
    Column("value_fen", BigInteger, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("enrolled_at", DateTime(timezone=True)),
    Column("redeemed_at", DateTime(timezone=True)),
    Column("paid_at", DateTime(timezone=True)),
    Column("payment_id", String(64)),
    Column("version", Integer, nullable=False),
    Column("payout_failure_reason", String(MAX_FAILURE_REASON_CHARS), nullable=False, server_default=""),
    Column("kind", String(16), nullable=False, server_default="targeted"),
    Column("bound_institution_id", String(40)),
    Column("valid_from", DateTime(timezone=True)),
)

# V4, V5: issuance batches; a voucher's batch_id names one (or, for IssueVoucher, is a plain label).
batches = Table(
    "batches", metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("fund_source", String(64), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("occupation_code", String(32)),
    Column("level", Integer),
    Column("institution_id", String(40)),
    Column("mode", String(16), nullable=False),
    Column("quota", BigInteger, nullable=False),
    Column("issued_count", BigInteger, nullable=False),
    Column("rejected_count", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)

certificates = Table(
    "certificates", metadata,
    Column("certificate_id", String(40), primary_key=True),
    Column("certificate_number", String(64), nullable=False),
    Column("certificate_type", String(32), nullable=False),
    Column("holder_name", String(64), nullable=False),
    Column("holder_id_lookup", String(64), nullable=False, index=True),
    Column("holder_id_sealed", LargeBinary, nullable=False),
    Column("holder_id_masked", String(18), nullable=False),
    Column("occupation_code", String(32), nullable=False),
    Column("level", Integer, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # V3: each certificate redeems at most one voucher.
    Column("redeemed_voucher_id", String(40), unique=True),
    UniqueConstraint("certificate_type", "certificate_number", name="uq_certificate_number"),
)

# L1-L4: the row every entitlement-changing command of a person locks first (see PersonRepository).
persons = Table(
    "persons", metadata,
    Column("id_lookup", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)
