"""Issuance batches (V4, V5): who pays, how long the vouchers are valid, who gets them.

A batch names its fund source (V4: every voucher records it), its validity window (V5), its kind
(GENERAL: the holder chooses occupation and institution at enrolment; TARGETED: bound to one
catalogue occupation, level and institution) and how persons get a voucher: LISTED, the bureau
sends the list in chunks; QUOTA, eligible persons claim one through their app until the quota
is used up. Either way one person gets at most one voucher per batch: the voucher id is derived
from the batch and the person's look-up hash (V1), so a repeat can never issue a second one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from skillpay import fields
from skillpay.aggregate import Aggregate
from skillpay.errors import FailedPrecondition, FieldViolation, require
from skillpay.ids import derived_id
from voucher_svc.domain.model import (
    MAX_VALIDITY_YEARS,
    Institution,
    Occupation,
    PersonIdentity,
    Voucher,
    VoucherKind,
    check_level,
)

MAX_QUOTA = 10_000_000  # far above a province's yearly vouchers
MAX_CHUNK_PERSONS = 5_000  # one chunk is one transaction; its reply lists at most this many rejections
MAX_CHUNK_NO = 10_000_000
MAX_ROW = 2**31 - 1


class BatchMode(enum.Enum):
    LISTED = "listed"  # the bureau sends the persons (IssueBatchVouchers)
    QUOTA = "quota"  # persons claim through their app (ClaimVoucher) until the quota is used


@dataclass(frozen=True)
class RowRejection:
    """A person of a chunk that got no voucher: the row and field, never the value sent."""

    row: int
    field: str
    description: str


@dataclass(frozen=True)
class Candidate:
    """One row of a chunk: the person identified (V1), or why not."""

    row: int
    holder: PersonIdentity | None
    violations: tuple[FieldViolation, ...] = ()


@dataclass(frozen=True)
class BatchChunkIssued:
    """One chunk of a listed batch was issued: one event per chunk, not one per voucher."""

    batch_id: str
    chunk_no: int
    issued_count: int
    kind: VoucherKind
    fund_source: str
    occupation_code: str
    level: int
    institution_id: str
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime


@dataclass(frozen=True)
class ChunkOutcome:
    vouchers: list[Voucher]
    rejections: list[RowRejection]
    rejected_rows: int


@dataclass(frozen=True)
class ChunkProgress:
    """What the caller learns after each chunk: this chunk's outcome and the batch's totals."""

    batch_id: str
    chunk_no: int
    issued_in_chunk: int
    rejected_in_chunk: int
    issued_total: int
    rejected_total: int
    rejections: list[RowRejection]


ALREADY_IN_BATCH = "this person already has a voucher of this batch; one per person per batch (V1, V4)"


@dataclass
class Batch(Aggregate):
    audit_type = "batch"

    batch_id: str
    fund_source: str
    valid_from: datetime
    valid_until: datetime
    kind: VoucherKind
    occupation_code: str | None  # TARGETED only
    level: int | None
    institution_id: str | None
    mode: BatchMode
    quota: int  # QUOTA only; 0 for LISTED
    created_at: datetime
    issued_count: int = 0
    rejected_count: int = 0  # LISTED: rows refused so far
    version: int = field(default=0, compare=False)

    @classmethod
    def create(cls, batch_id: str, fund_source: str, valid_from: datetime | None, valid_until: datetime | None,
               kind: VoucherKind | None, occupation: Occupation | None, institution: Institution | None,
               mode: BatchMode | None, quota: int, now: datetime) -> Batch:
        """A checked batch. For TARGETED the caller has looked up the catalogue entries it names."""
        require(cls.field_violations(batch_id, fund_source, valid_from, valid_until, kind,
                                     occupation.code if occupation else "", occupation.level if occupation else 0,
                                     institution.institution_id if institution else "", mode, quota, now))
        if kind is VoucherKind.TARGETED:
            if occupation is None or institution is None:
                raise ValueError("a targeted batch needs its catalogue occupation and institution")
            if not institution.can_train(occupation.code):
                # P1, X3: only an active catalogue institution approved for the occupation gets vouchers.
                raise FailedPrecondition("the institution is not in the catalogue for this occupation (P1, X3)")
        return cls(batch_id.strip(), fund_source.strip(), valid_from or now, valid_until, kind,
                   occupation.code if occupation else None, occupation.level if occupation else None,
                   institution.institution_id if institution else None, mode,
                   quota if mode is BatchMode.QUOTA else 0, now)

    @staticmethod
    def field_violations(batch_id: str, fund_source: str, valid_from: datetime | None, valid_until: datetime | None,
                         kind: VoucherKind | None, occupation_code: str, level: int, institution_id: str,
                         mode: BatchMode | None, quota: int, now: datetime) -> list[FieldViolation]:
        """Every bad field of a batch at once (V4, V5)."""
        violations: list[FieldViolation] = []
        fields.BATCH_ID.check(batch_id, "batch_id", violations)
        if not isinstance(fund_source, str) or not fund_source.strip():
            violations.append(FieldViolation("fund_source", "every voucher records its fund source (V4)"))
        else:
            fields.FUND_CODE.check(fund_source, "fund_source", violations)
        start = valid_from or now
        if valid_until is None:
            violations.append(FieldViolation("valid_until", "is required (V5)"))
        elif valid_until <= max(start, now):
            violations.append(FieldViolation("valid_until", "must be in the future and after valid_from (V5)"))
        elif valid_until - now > timedelta(days=366 * MAX_VALIDITY_YEARS):
            violations.append(FieldViolation("valid_until", f"must be within {MAX_VALIDITY_YEARS} years (V5)"))
        if valid_from is not None and valid_from - now > timedelta(days=366 * MAX_VALIDITY_YEARS):
            violations.append(FieldViolation("valid_from", f"must be within {MAX_VALIDITY_YEARS} years (V5)"))
        if kind is None:
            violations.append(FieldViolation("kind", "is required: general or targeted"))
        elif kind is VoucherKind.TARGETED:
            fields.OCCUPATION_CODE.check(occupation_code, "occupation_code", violations)
            check_level(level, violations)
            fields.ENTITY_ID.check(institution_id, "institution_id", violations)
        else:
            for name, value in (("occupation_code", occupation_code), ("level", level),
                                ("institution_id", institution_id)):
                if value:
                    violations.append(FieldViolation(name, "a general batch names none: the holder chooses at "
                                                           "enrolment"))
        if mode is None:
            violations.append(FieldViolation("mode", "is required: listed or quota"))
        elif mode is BatchMode.QUOTA:
            if isinstance(quota, bool) or not isinstance(quota, int) or not 0 < quota <= MAX_QUOTA:
                violations.append(FieldViolation("quota", f"must be between 1 and {MAX_QUOTA}"))
        elif quota:
            violations.append(FieldViolation("quota", "only a quota batch has one"))
        return violations

    def audit_id(self) -> str:
        return self.batch_id

    def voucher_id_for(self, holder: PersonIdentity) -> str:
        """One voucher per person per batch: the id is a function of the two (V1, V4)."""
        return derived_id("vch", self.batch_id, holder.id_lookup)

    def _refuse_outside_validity(self, now: datetime) -> None:
        if now >= self.valid_until:
            raise FailedPrecondition(f"batch expired at {self.valid_until.isoformat()}; it issues no more "
                                     "vouchers (V5)")

    def voucher_ids_for(self, candidates: Iterable[Candidate]) -> dict[str, str]:
        """The voucher id of each valid candidate, by look-up hash (asked once per chunk, used twice)."""
        return {c.holder.id_lookup: self.voucher_id_for(c.holder) for c in candidates if c.holder is not None}

    def _voucher(self, holder: PersonIdentity, now: datetime, voucher_id: str | None = None) -> Voucher:
        return Voucher(voucher_id or self.voucher_id_for(holder), holder, self.occupation_code, self.level, self.fund_source,
                       self.batch_id, now, self.valid_until, kind=self.kind,
                       bound_institution_id=self.institution_id, valid_from=self.valid_from)

    def issue_chunk(self, chunk_no: int, candidates: Iterable[Candidate], already_issued: set[str],
                    now: datetime, voucher_ids: dict[str, str] | None = None) -> ChunkOutcome:
        """V1, V4, V5: a voucher for every valid person of the chunk not yet in the batch.

        ``already_issued`` holds the ids (of this chunk's persons) the batch issued before;
        ``voucher_ids``, if given, is ``voucher_ids_for(candidates)``. A row
        that is invalid, or repeats a person, is refused alone; the rest of the chunk is issued.
        """
        if self.mode is not BatchMode.LISTED:
            raise FailedPrecondition("this batch is a quota batch: persons claim their vouchers (ClaimVoucher)")
        self._refuse_outside_validity(now)
        vouchers: list[Voucher] = []
        rejections: list[RowRejection] = []
        rejected_rows = 0
        seen = set(already_issued)
        for candidate in candidates:
            if candidate.holder is None:
                rejected_rows += 1
                rejections += [RowRejection(candidate.row, v.field, v.description) for v in candidate.violations]
                continue
            voucher = self._voucher(candidate.holder, now,
                                    voucher_ids.get(candidate.holder.id_lookup) if voucher_ids else None)
            if voucher.voucher_id in seen:
                rejected_rows += 1
                rejections.append(RowRejection(candidate.row, "resident_id", ALREADY_IN_BATCH))
                continue
            seen.add(voucher.voucher_id)
            vouchers.append(voucher)
        self.issued_count += len(vouchers)
        self.rejected_count += rejected_rows
        if vouchers:
            self.record(BatchChunkIssued(
                self.batch_id, chunk_no, len(vouchers), self.kind, self.fund_source, self.occupation_code or "",
                self.level or 0, self.institution_id or "", self.valid_from, self.valid_until, now))
        return ChunkOutcome(vouchers, rejections, rejected_rows)

    def claim(self, holder: PersonIdentity, existing: Voucher | None, now: datetime) -> Voucher:
        """V4: a person claims a voucher of a quota batch; claiming again gives the same voucher.

        The caller holds the batch's lock, so the quota check and the count are one step.
        """
        if self.mode is not BatchMode.QUOTA:
            raise FailedPrecondition("this batch lists its persons; it has no quota to claim from")
        if existing is not None:
            return existing
        self._refuse_outside_validity(now)
        if self.issued_count >= self.quota:
            raise FailedPrecondition(f"the batch's quota of {self.quota} vouchers is used up (V4)")
        self.issued_count += 1
        voucher = self._voucher(holder, now)
        voucher.announce_issue()
        return voucher
