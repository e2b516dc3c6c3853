"""The voucher service's use cases: one handler per command, each owning its unit of work."""

from __future__ import annotations

from skillpay import fields
from skillpay.clock import Clock
from skillpay.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, PermissionDenied, require
from skillpay.actors import ActorKind
from skillpay.ids import new_id
from skillpay.pii import PiiVault, mask_resident_id, validate_resident_id
from voucher_svc.domain import batch as batches
from voucher_svc.domain.batch import Batch, ChunkProgress
from voucher_svc.domain.eligibility import DEFAULT_POLICY, Candidate, EligibilityPolicy
from voucher_svc.domain.model import (Certificate, Institution, Occupation, PersonIdentity, Voucher, VoucherKind,
                                      VoucherState, check_level)
from voucher_svc.service_layer import commands
from voucher_svc.service_layer.funds import FundDirectory
from voucher_svc.service_layer.unit_of_work import VoucherUnitOfWork


def identify_person(vault: PiiVault, resident_id: str, name: str,
                    violations: list[FieldViolation] | None = None) -> PersonIdentity | None:
    """V1: validate the resident ID, then keep it only sealed, hashed and masked.

    With ``violations``, problems are added there (so a request's every bad field is named at
    once) and None is returned; without, they are raised.
    """
    collected: list[FieldViolation] = []
    canonical = None
    if fields.RESIDENT_ID.check(resident_id, "resident_id", collected):
        try:
            canonical = validate_resident_id(resident_id)
        except InvalidArgument as exc:
            collected += exc.violations
    name = fields.PERSON_NAME.check(name, "name", collected)
    if violations is None:
        require(collected)
    else:
        violations.extend(collected)
    if collected:
        return None
    return PersonIdentity(name, vault.lookup_hash(canonical), vault.seal(canonical), mask_resident_id(canonical))


async def _occupation(uow: VoucherUnitOfWork, code: str, level: int) -> Occupation:
    occupation = await uow.occupations.get(code, level)
    if occupation is None:
        # A1: only catalogue occupations are subsidised.
        raise InvalidArgument([FieldViolation("occupation_code", "is not in the occupation catalogue at this level (A1)")])
    return occupation


def checked_id(value: str, field: str) -> str:
    """An id a caller sent: bounded and plain before it is looked up (or echoed anywhere)."""
    violations: list[FieldViolation] = []
    value = fields.ENTITY_ID.check(value, field, violations)
    require(violations)
    return value


async def _voucher(uow: VoucherUnitOfWork, voucher_id: str) -> Voucher:
    voucher = await uow.vouchers.get(checked_id(voucher_id, "voucher_id"), for_update=True)
    if voucher is None:
        raise NotFound("voucher not found")
    return voucher


def _acting_for(command: commands.Command, institution_id: str) -> None:
    """An institution acts only for itself; bureau staff may act for any."""
    if command.actor.kind is ActorKind.INSTITUTION and command.actor.subject != institution_id:
        raise PermissionDenied("an institution may act only for itself")


async def register_occupation(cmd: commands.RegisterOccupation, uow: VoucherUnitOfWork, clock: Clock) -> Occupation:
    occupation = Occupation.register(cmd.code, cmd.name, cmd.level, cmd.subsidy_standard_fen, cmd.new_occupation,
                                     clock.now())
    async with uow:
        if await uow.occupations.get(occupation.code, occupation.level) is not None:
            raise AlreadyExists("this occupation and level is already in the catalogue")
        await uow.occupations.add(occupation)
        await uow.commit()
    return occupation


async def register_institution(cmd: commands.RegisterInstitution, uow: VoucherUnitOfWork,
                               clock: Clock) -> Institution:
    institution = Institution.register(new_id("ins"), cmd.name, cmd.credit_code, cmd.address,
                                       list(cmd.occupation_codes), clock.now())
    async with uow:
        unknown = [c for c in institution.occupation_codes if not await uow.occupations.exists_code(c)]
        if unknown:
            raise InvalidArgument([FieldViolation("occupation_codes", f"{len(unknown)} code(s) are not in the "
                                                                      "occupation catalogue")])
        if await uow.institutions.get_by_credit_code(institution.credit_code) is not None:
            raise AlreadyExists("an institution with this credit code is already in the catalogue")
        await uow.institutions.add(institution)
        await uow.commit()
    return institution


async def _check_fund(funds: FundDirectory, fund_source: str) -> None:
    """V4, F1: a voucher whose fund the ledger does not know could never be paid. Known funds are
    cached by the directory, so this asks the ledger once per fund, not once per voucher."""
    if not await funds.is_known(fund_source.strip()):
        raise InvalidArgument([FieldViolation("fund_source", "is not a fund the ledger has opened; finance opens "
                                                             "it first (V4, F1)")])


async def issue_voucher(cmd: commands.IssueVoucher, uow: VoucherUnitOfWork, clock: Clock, vault: PiiVault,
                        funds: FundDirectory) -> Voucher:
    violations: list[FieldViolation] = []
    holder = identify_person(vault, cmd.resident_id, cmd.name, violations)
    fields.OCCUPATION_CODE.check(cmd.occupation_code, "occupation_code", violations)
    check_level(cmd.level, violations)
    violations += Voucher.field_violations(cmd.fund_source, cmd.batch_id, cmd.valid_until, clock.now())
    require(violations)  # every bad field at once, before anything is looked up
    await _check_fund(funds, cmd.fund_source)
    async with uow:
        occupation = await _occupation(uow, cmd.occupation_code, cmd.level)
        voucher = Voucher.issue(new_id("vch"), holder, occupation, cmd.fund_source, cmd.batch_id, cmd.valid_until,
                                clock.now())
        await uow.vouchers.add(voucher)
        await uow.commit()
    return voucher


async def _check_eligible(uow: VoucherUnitOfWork, eligibility: EligibilityPolicy, voucher: Voucher,
                          candidate: Candidate) -> None:
    """L1-L4 against the person's history, under the person's lock (held until this unit of work
    ends), so a second command for the same person sees this one's outcome before checking."""
    await uow.persons.lock(voucher.holder.id_lookup)
    eligibility.check(await uow.vouchers.history(voucher.holder.id_lookup), candidate)


async def enrol_voucher(cmd: commands.EnrolVoucher, uow: VoucherUnitOfWork, clock: Clock,
                        eligibility: EligibilityPolicy = DEFAULT_POLICY) -> Voucher:
    _acting_for(cmd, cmd.institution_id)
    wants_occupation = bool(cmd.occupation_code) or bool(cmd.level)
    if wants_occupation:
        violations: list[FieldViolation] = []
        fields.OCCUPATION_CODE.check(cmd.occupation_code, "occupation_code", violations)
        check_level(cmd.level, violations)
        require(violations)
    async with uow:
        voucher = await _voucher(uow, cmd.voucher_id)
        institution = await uow.institutions.get(checked_id(cmd.institution_id, "institution_id"))
        if institution is None:
            raise NotFound("institution not found")
        # A1: a general voucher's holder chooses a catalogue occupation and level now.
        chosen = await _occupation(uow, cmd.occupation_code.strip(), cmd.level) if wants_occupation else None
        already_enrolled = voucher.state is VoucherState.ENROLLED
        voucher.enrol(institution, cmd.real_person_verified, clock.now(), chosen)
        if not already_enrolled:
            # L4, and L2/L3 ahead of time for the occupation and level the voucher is enrolled
            # for (a general voucher's chosen just now); L1 waits for redemption, since its year
            # is the certificate's.
            await _check_eligible(uow, eligibility, voucher, Candidate(
                voucher.voucher_id, voucher.occupation_code, voucher.level, enrolled_at=clock.now()))
        await uow.vouchers.save(voucher)
        await uow.commit()
    return voucher


async def create_batch(cmd: commands.CreateBatch, uow: VoucherUnitOfWork, clock: Clock,
                       funds: FundDirectory) -> Batch:
    """V4, V5: a batch with its fund source (checked with the ledger), validity, kind and mode."""
    now = clock.now()
    require(Batch.field_violations(cmd.batch_id, cmd.fund_source, cmd.valid_from, cmd.valid_until, cmd.kind,
                                   cmd.occupation_code, cmd.level, cmd.institution_id, cmd.mode, cmd.quota, now))
    await _check_fund(funds, cmd.fund_source)
    async with uow:
        if await uow.batches.get(cmd.batch_id.strip()) is not None:
            raise AlreadyExists("a batch with this batch_id already exists")
        occupation = institution = None
        if cmd.kind is VoucherKind.TARGETED:
            occupation = await _occupation(uow, cmd.occupation_code.strip(), cmd.level)
            institution = await uow.institutions.get(cmd.institution_id.strip())
            if institution is None:
                raise InvalidArgument([FieldViolation("institution_id", "is not in the institution catalogue (P1)")])
        batch = Batch.create(cmd.batch_id, cmd.fund_source, cmd.valid_from, cmd.valid_until, cmd.kind, occupation,
                             institution, cmd.mode, cmd.quota, now)
        await uow.batches.add(batch)
        await uow.commit()
    return batch


def _chunk_violations(cmd: commands.IssueBatchChunk) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    fields.BATCH_ID.check(cmd.batch_id, "batch_id", violations)
    if isinstance(cmd.chunk_no, bool) or not isinstance(cmd.chunk_no, int) or not 0 <= cmd.chunk_no <= batches.MAX_CHUNK_NO:
        violations.append(FieldViolation("chunk_no", f"must be between 0 and {batches.MAX_CHUNK_NO}"))
    if isinstance(cmd.first_row, bool) or not isinstance(cmd.first_row, int) or not 0 <= cmd.first_row <= batches.MAX_ROW:
        violations.append(FieldViolation("first_row", f"must be between 0 and {batches.MAX_ROW}"))
    if not 0 < len(cmd.persons) <= batches.MAX_CHUNK_PERSONS:
        violations.append(FieldViolation("persons", f"send 1 to {batches.MAX_CHUNK_PERSONS} persons per chunk"))
    return violations


async def issue_batch_chunk(cmd: commands.IssueBatchChunk, uow: VoucherUnitOfWork, clock: Clock,
                            vault: PiiVault) -> ChunkProgress:
    """V1, V4, V5: one chunk of a listed batch in one transaction; bad rows are refused alone.

    The persons are identified (validated, sealed, hashed) before the transaction starts, so the
    batch's lock is held only for the look-up of who already has a voucher and the bulk writes.
    """
    require(_chunk_violations(cmd))
    candidates = []
    for i, (resident_id, name) in enumerate(cmd.persons):
        found: list[FieldViolation] = []
        holder = identify_person(vault, resident_id, name, found)
        candidates.append(batches.Candidate(cmd.first_row + i, holder, tuple(found)))
    async with uow:
        batch = await uow.batches.get(cmd.batch_id.strip(), for_update=True)
        if batch is None:
            raise NotFound("batch not found")
        issued_before = await uow.vouchers.existing_ids(
            {batch.voucher_id_for(c.holder) for c in candidates if c.holder is not None})
        outcome = batch.issue_chunk(cmd.chunk_no, candidates, issued_before, clock.now())
        await uow.vouchers.add_many(outcome.vouchers)
        await uow.batches.save(batch)
        await uow.commit()
    return ChunkProgress(batch.batch_id, cmd.chunk_no, len(outcome.vouchers), outcome.rejected_rows,
                         batch.issued_count, batch.rejected_count, outcome.rejections)


async def claim_voucher(cmd: commands.ClaimVoucher, uow: VoucherUnitOfWork, clock: Clock, vault: PiiVault) -> Voucher:
    """V1, V2, V4: a person claims their one voucher of a quota batch; again, the same voucher."""
    violations: list[FieldViolation] = []
    batch_id = fields.BATCH_ID.check(cmd.batch_id, "batch_id", violations)
    holder = identify_person(vault, cmd.resident_id, cmd.name, violations)
    require(violations)
    if cmd.actor.subject != holder.id_lookup:
        raise PermissionDenied("a person may claim a voucher only for themselves (V2)")
    async with uow:
        # The batch's lock first: the quota check, the count and the insert are one step, and a
        # second claim of the same person sees the first one's voucher.
        batch = await uow.batches.get(batch_id, for_update=True)
        if batch is None:
            raise NotFound("batch not found")
        existing = await uow.vouchers.get(batch.voucher_id_for(holder))
        voucher = batch.claim(holder, existing, clock.now())
        if voucher is not existing:
            await uow.vouchers.add(voucher)
            await uow.batches.save(batch)
        await uow.commit()
    return voucher


async def record_certificate(cmd: commands.RecordCertificate, uow: VoucherUnitOfWork, clock: Clock,
                             vault: PiiVault) -> Certificate:
    violations: list[FieldViolation] = []
    holder = identify_person(vault, cmd.resident_id, cmd.name, violations)
    violations += Certificate.field_violations(cmd.certificate_number, cmd.certificate_type, cmd.occupation_code,
                                               cmd.level, cmd.issued_on, clock.now())
    require(violations)  # every bad field at once
    certificate = Certificate.record(new_id("crt"), cmd.certificate_number, cmd.certificate_type, holder,
                                     cmd.occupation_code, cmd.level, cmd.issued_on, clock.now())
    async with uow:
        await _occupation(uow, cmd.occupation_code, cmd.level)
        if await uow.certificates.find_by_number(certificate.certificate_type, certificate.certificate_number):
            raise AlreadyExists("a certificate with this type and number is already recorded")
        await uow.certificates.add(certificate)
        await uow.commit()
    return certificate


async def redeem_voucher(cmd: commands.RedeemVoucher, uow: VoucherUnitOfWork, clock: Clock,
                         eligibility: EligibilityPolicy = DEFAULT_POLICY) -> Voucher:
    async with uow:
        voucher = await _voucher(uow, cmd.voucher_id)
        if voucher.institution_id:
            _acting_for(cmd, voucher.institution_id)
        certificate = await uow.certificates.get(checked_id(cmd.certificate_id, "certificate_id"), for_update=True)
        if certificate is None:
            raise NotFound("certificate not found")
        occupation = await _occupation(uow, voucher.occupation_code, voucher.level)
        voucher.redeem(certificate, occupation, clock.now())
        # L1-L3 with the certificate's date, after the certificate matched (V2, V3 first).
        await _check_eligible(uow, eligibility, voucher, Candidate(
            voucher.voucher_id, voucher.occupation_code, voucher.level, certificate_date=certificate.issued_on))
        await uow.certificates.mark_redeemed(certificate)
        await uow.vouchers.save(voucher)
        await uow.commit()
    return voucher


async def mark_voucher_paid(cmd: commands.MarkVoucherPaid, uow: VoucherUnitOfWork) -> None:
    """V4: the subsidy landed; a second report of the same payment changes nothing."""
    async with uow:
        voucher = await uow.vouchers.get(cmd.voucher_id, for_update=True)
        if voucher is None:
            return  # a payment for a voucher this service never issued: nothing to do here
        if voucher.mark_paid(cmd.payment_id, cmd.paid_at):
            await uow.vouchers.save(voucher)
        await uow.commit()


async def mark_voucher_payout_failed(cmd: commands.MarkVoucherPayoutFailed, uow: VoucherUnitOfWork) -> None:
    """The voucher shows why its payout failed until a payout requested again settles."""
    async with uow:
        voucher = await uow.vouchers.get(cmd.voucher_id, for_update=True)
        if voucher is None:
            return  # a payment for a voucher this service never issued: nothing to do here
        if voucher.payout_failed(cmd.reason):
            await uow.vouchers.save(voucher)
        await uow.commit()


HANDLERS = {
    commands.RegisterOccupation: register_occupation,
    commands.RegisterInstitution: register_institution,
    commands.IssueVoucher: issue_voucher,
    commands.EnrolVoucher: enrol_voucher,
    commands.CreateBatch: create_batch,
    commands.IssueBatchChunk: issue_batch_chunk,
    commands.ClaimVoucher: claim_voucher,
    commands.RecordCertificate: record_certificate,
    commands.RedeemVoucher: redeem_voucher,
    commands.MarkVoucherPaid: mark_voucher_paid,
    commands.MarkVoucherPayoutFailed: mark_voucher_payout_failed,
}
