"""The voucher service's tables (SQLAlchemy Core). The schema itself comes from migrations/."""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
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
from voucher_svc.domain.lifecycle import REASON
from voucher_svc.domain.model import MAX_FAILURE_REASON_CHARS

metadata = MetaData()
# The messaging tables live in this database too; one metadata describes all that the
# migrations build (tests/integration/test_schema_matches_migrations.py checks it).
add_messaging_tables(metadata)
add_parked_events_table(metadata)
add_audit_table(metadata)

# A1: the catalogue entry (code, level); what it says lives in its dated versions.
occupations = Table(
    "occupations", metadata,
    Column("code", String(32), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# A1: versions follow each other without gap or overlap; both dates inclusive, no end for the latest.
occupation_versions = Table(
    "occupation_versions", metadata,
    Column("code", String(32), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("subsidy_standard_fen", BigInteger, nullable=False),
    Column("new_occupation", Boolean, nullable=False),
    Column("min_class_hours", Integer, nullable=False),
    Column("practical_oriented", Boolean, nullable=False),
    Column("region", String(6), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["code", "level"], ["occupations.code", "occupations.level"],
                         name="fk_occupation_versions_entry"),
    UniqueConstraint("code", "level", "effective_from", name="uq_occupation_version_start"),
    CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="ck_occupation_version_dates"),
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
    Column("nature", String(16), nullable=False, server_default="other"),
    Column("region", String(6), nullable=False, server_default=""),
    Column("bank_account_number", String(32)),
    Column("bank_account_name", String(64)),
    Column("bank_code", String(12)),
    Column("status_reason", String(200), nullable=False, server_default=""),
    Column("status_changed_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False, server_default="0"),
)

vouchers = Table(
    "vouchers", metadata,
    Column("voucher_id", String(40), primary_key=True),
    Column("holder_name", String(64), nullable=False),
    Column("holder_id_lookup", String(64), nullable=False),
    Column("holder_id_sealed", LargeBinary, nullable=False),
    Column("holder_id_masked", String(18), nullable=False),
    Column("occupation_code", String(32)),  # None: a general voucher before enrolment
    Column("level", Integer),
    Column("fund_source", String(64), nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # queried through ix_vouchers_expiry (state first)
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
    # A2-A4, fixed at redemption; A5's top-up (0 until one is claimed).
    Column("rate_percent", Integer, nullable=False, server_default="0"),
    Column("valuation_rule", String(4), nullable=False, server_default=""),
    Column("standard_fen", BigInteger, nullable=False, server_default="0"),
    Column("employment_window_start", Date),
    Column("employment_window_end", Date),
    Column("topped_up_fen", BigInteger, nullable=False, server_default="0"),
    Column("topped_up_at", DateTime(timezone=True)),
    # The voucher's life after issue (V4, V5, X2; voucher_svc.domain.lifecycle).
    Column("redemption_no", Integer, nullable=False, server_default="0"),
    Column("state_reason", String(REASON.max_len), nullable=False, server_default=""),
    Column("ended_at", DateTime(timezone=True)),
    Column("recovery_due_fen", BigInteger, nullable=False, server_default="0"),
    Column("recovery_payment_ids", Text, nullable=False, server_default=""),  # space-separated
    Column("kind", String(16), nullable=False, server_default="targeted"),
    Column("bound_institution_id", String(40)),
    Column("valid_from", DateTime(timezone=True)),
    # V5: the expiry sweep's query (state in issued/enrolled, valid_until <= now); also every query by state.
    Index("ix_vouchers_expiry", "state", "valid_until"),
    # A person's vouchers are found by equality only: hash on PostgreSQL (see ix_audit_records_aggregate_id).
    Index("ix_vouchers_holder_id_lookup", "holder_id_lookup", postgresql_using="hash"),
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
    # V3: "bureau" or the evaluation body's id ("institution:<id>" for those recorded before 0006).
    Column("issuer", String(80), nullable=False, server_default=""),
)

# L1-L4: the row every entitlement-changing command of a person locks first (see PersonRepository).
# V1: the person itself (name, sealed and masked ID, A6 hardship groups) from 0006 on. The identity
# columns are empty only on a row a lock made before any voucher or certificate named the person.
persons = Table(
    "persons", metadata,
    Column("id_lookup", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("name", String(64)),
    Column("id_sealed", LargeBinary),
    Column("id_masked", String(18)),
    Column("hardship_groups", Text, nullable=False, server_default=""),  # comma-separated HardshipGroup values
    Column("hardship_effective_from", Date),
)

# V2: presentation tokens once used (single use across replicas: the key decides).
used_presentation_tokens = Table(
    "used_presentation_tokens", metadata,
    Column("jti", String(64), primary_key=True),
    Column("voucher_id", String(40), nullable=False, index=True),
    Column("institution_id", String(40), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=False),
)

# A2, A5: employment evidence; the id derives from person, employer, start date and source.
employment_records = Table(
    "employment_records", metadata,
    Column("employment_id", String(40), primary_key=True),
    Column("person_name", String(64), nullable=False),
    Column("person_id_lookup", String(64), nullable=False, index=True),
    Column("person_id_sealed", LargeBinary, nullable=False),
    Column("person_id_masked", String(18), nullable=False),
    Column("employer_credit_code", String(18), nullable=False),
    Column("employer_name", String(64), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("source", String(24), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
