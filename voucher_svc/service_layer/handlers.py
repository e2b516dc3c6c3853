"""The voucher service's use cases: one handler per command, each owning its unit of work."""

from __future__ import annotations

from datetime import date

from skillpay import fields
from skillpay.clock import Clock, shanghai_date
from skillpay.errors import (AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound,
                             PermissionDenied, PreconditionViolation, require)
from skillpay.actors import ActorKind
from skillpay.ids import new_id
from skillpay.pii import PiiVault, mask_resident_id, validate_resident_id
from voucher_svc.domain import batch as batches
from voucher_svc.domain.batch import Batch, ChunkProgress
from voucher_svc.domain.eligibility import DEFAULT_POLICY, Candidate, EligibilityPolicy
from voucher_svc.domain.employment import EmploymentRecord
from voucher_svc.domain.lifecycle import REASON
from voucher_svc.domain.model import (BUREAU_ISSUER, BankAccount, Certificate, Institution, Occupation,
                                      PersonIdentity, Voucher, VoucherKind, VoucherState, check_level)
from voucher_svc.domain.person import Person
from voucher_svc.domain.presentation import IssuedPresentation, check_presentable, check_presentation, reused
from voucher_svc.domain.valuation import DEFAULT_VALUATION, ValuationPolicy
from voucher_svc.service_layer import commands
from voucher_svc.service_layer.batch_identities import ChunkIdentities
from voucher_svc.service_layer.funds import FundDirectory
from voucher_svc.service_layer.presentation import PresentationTokens
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


async def _occupation_in_force(uow: VoucherUnitOfWork, code: str, level: int, on: date) -> Occupation:
    """A1: the version of the catalogue entry in force on the day (issue: today; redemption: the certificate's)."""
    occupation = await uow.occupations.in_force(code, level, on)
    if occupation is None:
        await _occupation(uow, code, level)  # not in the catalogue at all: the request named a wrong one
        raise FailedPrecondition(violations=[PreconditionViolation(
            "A1", "occupation", f"{on.isoformat()} 该职业（等级）不在有效的补贴目录中 / the occupation at this "
                                f"level has no catalogue version in force on {on.isoformat()}")])
    return occupation


def person_lookup(vault: PiiVault, resident_id: str, violations: list[FieldViolation]) -> str:
    """V1: the look-up hash of a valid resident ID ('' with a violation added otherwise)."""
    if not fields.RESIDENT_ID.check(resident_id, "resident_id", violations):
        return ""
    try:
        return vault.lookup_hash(validate_resident_id(resident_id))
    except InvalidArgument as exc:
        violations.extend(exc.violations)
        return ""


async def _person_seen(uow: VoucherUnitOfWork, identity: PersonIdentity) -> Person:
    """V1: a voucher or certificate names the person: known from now on, or refreshed."""
    person = await uow.persons.get(identity.id_lookup, for_update=True)
    if person is None:
        person = Person.register(identity)
        await uow.persons.add(person)
    elif person.refresh(identity):
        await uow.persons.save(person)
    return person


async def _persons_seen(uow: VoucherUnitOfWork, identities: list[PersonIdentity]) -> None:
    """V1, in bulk: what ``_person_seen`` does for each, in one to three statements for a batch chunk's thousands.

    No person's row is locked first (a chunk issues no entitlement the person's lock guards, L1-L4);
    a person written meanwhile by another command is taken over, as ``add`` does.
    """
    await uow.persons.record_many(list({i.id_lookup: i for i in identities}.values()))


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
                                     clock.now(), min_class_hours=cmd.min_class_hours,
                                     practical_oriented=cmd.practical_oriented, region=cmd.region,
                                     effective_from=cmd.effective_from)
    async with uow:
        if await uow.occupations.get(occupation.code, occupation.level) is not None:
            raise AlreadyExists("this occupation and level is already in the catalogue")
        await uow.occupations.add(occupation)
        await uow.commit()
    return occupation


async def revise_occupation(cmd: commands.ReviseOccupation, uow: VoucherUnitOfWork, clock: Clock) -> Occupation:
    """A1: a new dated version; the latest one ends the day before it starts."""
    violations: list[FieldViolation] = []
    code = fields.OCCUPATION_CODE.check(cmd.code, "code", violations)
    check_level(cmd.level, violations)
    violations += Occupation.revision_violations(cmd.name, cmd.subsidy_standard_fen, cmd.min_class_hours,
                                                 cmd.region, cmd.effective_from, clock.now())
    require(violations)  # every bad field at once, before anything is looked up
    async with uow:
        latest = await uow.occupations.get(code, cmd.level)
        if latest is None:
            raise NotFound("this occupation and level is not in the catalogue")
        revised = latest.revise(cmd.name, cmd.subsidy_standard_fen, cmd.new_occupation, cmd.min_class_hours,
                                cmd.practical_oriented, cmd.region, cmd.effective_from, clock.now())
        await uow.occupations.close(latest)
        await uow.occupations.add_version(revised)
        await uow.commit()
    return revised


async def register_institution(cmd: commands.RegisterInstitution, uow: VoucherUnitOfWork,
                               clock: Clock) -> Institution:
    institution = Institution.register(new_id("ins"), cmd.name, cmd.credit_code, cmd.address,
                                       list(cmd.occupation_codes), clock.now(), nature=cmd.nature,
                                       region=cmd.region, bank_account=cmd.bank_account)
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
async def _change_institution(uow: VoucherUnitOfWork, institution_id: str, change) -> Institution:
    async with uow:
        institution = await uow.institutions.get(checked_id(institution_id, "institution_id"), for_update=True)
        if institution is None:
            raise NotFound("institution not found")
        if change(institution) is not False:
            await uow.institutions.save(institution)
        await uow.commit()
    return institution


def _require_id_and_reason(institution_id: str, reason: str) -> None:
    violations: list[FieldViolation] = []
    fields.ENTITY_ID.check(institution_id, "institution_id", violations)
    fields.STATUS_REASON.check(reason, "reason", violations)
    require(violations)  # both at once, before anything is looked up


async def suspend_institution(cmd: commands.SuspendInstitution, uow: VoucherUnitOfWork, clock: Clock) -> Institution:
    """X3: no new enrolments or redemptions until reinstated; claim_svc hears of it."""
    _require_id_and_reason(cmd.institution_id, cmd.reason)
    return await _change_institution(uow, cmd.institution_id, lambda i: i.suspend(cmd.reason, clock.now()))


async def reinstate_institution(cmd: commands.ReinstateInstitution, uow: VoucherUnitOfWork,
                                clock: Clock) -> Institution:
    return await _change_institution(uow, cmd.institution_id, lambda i: i.reinstate(clock.now()))


async def remove_institution(cmd: commands.RemoveInstitution, uow: VoucherUnitOfWork, clock: Clock) -> Institution:
    """X3: removed from the catalogue for good."""
    _require_id_and_reason(cmd.institution_id, cmd.reason)
    return await _change_institution(uow, cmd.institution_id, lambda i: i.remove(cmd.reason, clock.now()))


async def update_institution_bank_account(cmd: commands.UpdateInstitutionBankAccount,
                                          uow: VoucherUnitOfWork) -> Institution:
    violations: list[FieldViolation] = []
    fields.ENTITY_ID.check(cmd.institution_id, "institution_id", violations)
    BankAccount.checked(cmd.account_number, cmd.account_name, cmd.bank_code, violations)
    require(violations)
    return await _change_institution(uow, cmd.institution_id, lambda i: i.update_bank_account(
        cmd.account_number, cmd.account_name, cmd.bank_code))


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
        occupation = await _occupation_in_force(uow, cmd.occupation_code, cmd.level, shanghai_date(clock.now()))
        voucher = Voucher.issue(new_id("vch"), holder, occupation, cmd.fund_source, cmd.batch_id, cmd.valid_until,
                                clock.now())
        await uow.vouchers.add(voucher)
        await _person_seen(uow, holder)
        await uow.commit()
    return voucher


async def _check_eligible(uow: VoucherUnitOfWork, eligibility: EligibilityPolicy, voucher: Voucher,
                          candidate: Candidate) -> None:
    """L1-L4 against the person's history, under the person's lock (held until this unit of work
    ends), so a second command for the same person sees this one's outcome before checking."""
    await uow.persons.lock(voucher.holder.id_lookup)
    eligibility.check(await uow.vouchers.history(voucher.holder.id_lookup), candidate)


async def create_presentation_token(cmd: commands.CreatePresentationToken, uow: VoucherUnitOfWork, clock: Clock,
                                    presentations: PresentationTokens) -> IssuedPresentation:
    """V2: the holder's app gets a short-lived, single-use token (and its QR code) for one voucher.

    Nothing is stored: the token is signed, and only its use is recorded (at EnrolVoucher).
    """
    voucher_id = checked_id(cmd.voucher_id, "voucher_id")
    async with uow:
        voucher = await uow.vouchers.get(voucher_id)
        # Another's voucher and no voucher at all look the same: a person learns nothing of others'.
        if voucher is None or voucher.holder.id_lookup != cmd.actor.subject:
            raise PermissionDenied("V2: only the voucher's holder can present it, and this is not a voucher of yours")
        check_presentable(voucher, clock.now())
    return presentations.issue(voucher.voucher_id, voucher.holder.id_lookup, clock.now())


def _presentation_token(cmd: commands.EnrolVoucher, violations: list[FieldViolation]) -> str:
    if not isinstance(cmd.presentation_token, str) or not cmd.presentation_token.strip():
        violations.append(FieldViolation("presentation_token", "is required: the holder presents the voucher with "
                                                               "a token from their app (V2)"))
        token = ""
    else:
        token = fields.PRESENTATION_TOKEN.check(cmd.presentation_token, "presentation_token", violations)
    fields.ENTITY_ID.check(cmd.voucher_id, "voucher_id", violations)
    fields.ENTITY_ID.check(cmd.institution_id, "institution_id", violations)
    require(violations)
    return token


async def enrol_voucher(cmd: commands.EnrolVoucher, uow: VoucherUnitOfWork, clock: Clock,
                        presentations: PresentationTokens, eligibility: EligibilityPolicy = DEFAULT_POLICY) -> Voucher:
    _acting_for(cmd, cmd.institution_id)
    violations: list[FieldViolation] = []
    wants_occupation = bool(cmd.occupation_code) or bool(cmd.level)
    if wants_occupation:
        fields.OCCUPATION_CODE.check(cmd.occupation_code, "occupation_code", violations)
        check_level(cmd.level, violations)
    claims = presentations.verify(_presentation_token(cmd, violations))  # V2: a forged token goes no further
    async with uow:
        voucher = await _voucher(uow, cmd.voucher_id)
        # Held until this ends (X3): a suspension waits for this enrolment, or this sees it.
        institution = await uow.institutions.get(checked_id(cmd.institution_id, "institution_id"), for_share=True)
        if institution is None:
            raise NotFound("institution not found")
        now = clock.now()
        # V2: the holder's own token for this very voucher, still valid, used once (the voucher row is
        # locked, and the used-token table's key decides between replicas).
        check_presentation(claims, voucher.voucher_id, voucher.holder.id_lookup, now)
        if not await uow.presentations.use(claims.jti, voucher.voucher_id, institution.institution_id, now):
            raise reused()
        # A1: a general voucher's holder chooses a catalogue occupation and level in force today.
        chosen = (await _occupation_in_force(uow, cmd.occupation_code.strip(), cmd.level, shanghai_date(now))
                  if wants_occupation else None)
        already_enrolled = voucher.state is VoucherState.ENROLLED
        voucher.enrol(institution, cmd.real_person_verified, now, chosen)
        if not already_enrolled:
            # L4, and L2/L3 ahead of time for the occupation and level the voucher is enrolled
            # for (a general voucher's chosen just now); L1 waits for redemption, since its year
            # is the certificate's.
            await _check_eligible(uow, eligibility, voucher, Candidate(
                voucher.voucher_id, voucher.occupation_code, voucher.level, enrolled_at=now))
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
            occupation = await _occupation_in_force(uow, cmd.occupation_code.strip(), cmd.level, shanghai_date(now))
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
                            chunk_identities: ChunkIdentities) -> ChunkProgress:
    """V1, V4, V5: one chunk of a listed batch in one transaction; bad rows are refused alone.

    The persons are identified (validated, sealed, hashed) before the transaction starts, so the
    batch's lock is held only for the look-up of who already has a voucher and the bulk writes; a
    streamed chunk's were identified while the chunk before it was written (ChunkIdentities).
    """
    require(_chunk_violations(cmd))
    candidates = chunk_identities.take(cmd)
    async with uow:
        batch = await uow.batches.get(cmd.batch_id.strip(), for_update=True)
        if batch is None:
            raise NotFound("batch not found")
        voucher_ids = batch.voucher_ids_for(candidates)
        issued_before = await uow.vouchers.existing_ids(set(voucher_ids.values()))
        outcome = batch.issue_chunk(cmd.chunk_no, candidates, issued_before, clock.now(), voucher_ids)
        await uow.vouchers.add_many(outcome.vouchers)
        await _persons_seen(uow, [v.holder for v in outcome.vouchers])
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
            await _person_seen(uow, holder)
        await uow.commit()
    return voucher
def _issuer(cmd: commands.Command) -> str:
    """V3: the bureau (an admin) or the evaluation body that is acting; nobody else records certificates."""
    if cmd.actor.kind is ActorKind.ADMIN:
        return BUREAU_ISSUER
    if cmd.actor.kind is not ActorKind.EVALUATION_BODY:
        raise PermissionDenied("V3: only an evaluation body or the bureau records certificates")
    violations: list[FieldViolation] = []
    issuer = fields.ENTITY_ID.check(cmd.actor.subject, "actor", violations)
    if violations or issuer == BUREAU_ISSUER:
        raise PermissionDenied("V3: the evaluation body's id is not one a certificate can name")
    return issuer


async def record_certificate(cmd: commands.RecordCertificate, uow: VoucherUnitOfWork, clock: Clock,
                             vault: PiiVault) -> Certificate:
    issuer = _issuer(cmd)
    violations: list[FieldViolation] = []
    holder = identify_person(vault, cmd.resident_id, cmd.name, violations)
    violations += Certificate.field_violations(cmd.certificate_number, cmd.certificate_type, cmd.occupation_code,
                                               cmd.level, cmd.issued_on, clock.now())
    require(violations)  # every bad field at once
    certificate = Certificate.record(new_id("crt"), cmd.certificate_number, cmd.certificate_type, holder,
                                     cmd.occupation_code, cmd.level, cmd.issued_on, clock.now(), issuer=issuer)
    async with uow:
        await _occupation(uow, cmd.occupation_code, cmd.level)
        if await uow.certificates.find_by_number(certificate.certificate_type, certificate.certificate_number):
            raise AlreadyExists("a certificate with this type and number is already recorded")
        await uow.certificates.add(certificate)
        await _person_seen(uow, holder)
        await uow.commit()
    return certificate


async def redeem_voucher(cmd: commands.RedeemVoucher, uow: VoucherUnitOfWork, clock: Clock,
                         eligibility: EligibilityPolicy = DEFAULT_POLICY,
                         valuation: ValuationPolicy = DEFAULT_VALUATION) -> Voucher:
    async with uow:
        voucher = await _voucher(uow, cmd.voucher_id)
        if voucher.institution_id:
            _acting_for(cmd, voucher.institution_id)
        certificate = await uow.certificates.get(checked_id(cmd.certificate_id, "certificate_id"), for_update=True)
        if certificate is None:
            raise NotFound("certificate not found")
        if voucher.institution_id:
            # X3: a suspended or removed institution's vouchers are not redeemed (held until this ends).
            institution = await uow.institutions.get(voucher.institution_id, for_share=True)
            if institution is not None:
                institution.require_active(enrolling=False)
        # A1: valued by the catalogue version in force on the certificate's date, not today's.
        occupation = await _occupation_in_force(uow, voucher.occupation_code, voucher.level, certificate.issued_on)
        # The person's lock before their employment is read: a RecordEmployment running meanwhile
        # either committed (its record counts for A2 here) or waits and then sees this redemption
        # (and tops it up, A5). Either way the employment is never missed.
        await uow.persons.lock(voucher.holder.id_lookup)
        value = valuation.value(occupation.subsidy_standard_fen, occupation.new_occupation,
                                certificate.certificate_type, certificate.issued_on,
                                await uow.employment.start_dates(voucher.holder.id_lookup))
        voucher.redeem(certificate, occupation, clock.now(), value)
        # L1-L3 with the certificate's date, after the certificate matched (V2, V3 first).
        await _check_eligible(uow, eligibility, voucher, Candidate(
            voucher.voucher_id, voucher.occupation_code, voucher.level, certificate_date=certificate.issued_on))
        await uow.certificates.mark_redeemed(certificate)
        await uow.vouchers.save(voucher)
        await uow.commit()
    return voucher


async def set_hardship_groups(cmd: commands.SetHardshipGroups, uow: VoucherUnitOfWork, clock: Clock,
                              vault: PiiVault) -> Person:
    """A6: which listed hardship groups the person belongs to, from a date on (audited)."""
    violations: list[FieldViolation] = []
    id_lookup = person_lookup(vault, cmd.resident_id, violations)
    groups = list(cmd.groups) if isinstance(cmd.groups, (tuple, list)) else [None]
    violations += Person.hardship_violations(groups, cmd.effective_from, clock.now())
    require(violations)  # every bad field at once
    async with uow:
        person = await uow.persons.get(id_lookup, for_update=True)
        if person is None:
            raise NotFound("no person with this resident ID is known yet (no voucher or certificate names them)")
        person.set_hardship_groups(groups, cmd.effective_from, clock.now())
        await uow.persons.save(person)
        await uow.commit()
    return person


async def record_employment(cmd: commands.RecordEmployment, uow: VoucherUnitOfWork, clock: Clock, vault: PiiVault,
                            valuation: ValuationPolicy = DEFAULT_VALUATION) -> EmploymentRecord:
    """Employment evidence; the same evidence again returns the first record, changing nothing.

    A5: every redeemed or paid voucher of the person valued by A3/A4 whose employment window
    contains the start date is topped up to its full value, once (``Voucher.top_up``).
    """
    violations: list[FieldViolation] = []
    person = identify_person(vault, cmd.resident_id, cmd.name, violations)
    EmploymentRecord.check_fields(cmd.employer_credit_code, cmd.employer_name, cmd.start_date, cmd.source,
                                  clock.now(), violations)
    require(violations)  # every bad field at once
    record = EmploymentRecord.create(person, cmd.employer_credit_code, cmd.employer_name, cmd.start_date,
                                     cmd.source, f"{cmd.actor.kind.value}:{cmd.actor.subject}", clock.now())
    async with uow:
        # Serialised with the person's redemptions (see redeem_voucher) and other records of theirs.
        await uow.persons.lock(person.id_lookup)
        if cmd.actor.kind is ActorKind.INSTITUTION and not await uow.vouchers.trained_at(person.id_lookup,
                                                                                       cmd.actor.subject):
            # An institution vouches only for its own trainees' jobs; the bureau records any (A2, X1).
            raise PermissionDenied("an institution records employment only for a person it trained with a voucher")
        existing = await uow.employment.get(record.employment_id)
        if existing is not None:
            return existing
        await uow.employment.add(record)
        for voucher in await uow.vouchers.subsidised_of(person.id_lookup):
            if voucher.top_up(record.start_date, valuation.full_value(voucher.standard_fen), clock.now()):
                await uow.vouchers.save(voucher)
        await uow.commit()
    return record


async def mark_voucher_paid(cmd: commands.MarkVoucherPaid, uow: VoucherUnitOfWork) -> None:
    """V4: the subsidy landed; a second report of the same payment changes nothing."""
    async with uow:
        voucher = await uow.vouchers.get(cmd.voucher_id, for_update=True)
        if voucher is None:
            return  # a payment for a voucher this service never issued: nothing to do here
        # A payment for a rolled-back redemption records a recovery due (X2) instead of failing.
        if voucher.mark_paid(cmd.payment_id, cmd.paid_at, cmd.redemption_id, cmd.amount_fen):
            await uow.vouchers.save(voucher)
        await uow.commit()


async def mark_voucher_payout_failed(cmd: commands.MarkVoucherPayoutFailed, uow: VoucherUnitOfWork) -> None:
    """The voucher shows why its payout failed until a payout requested again settles."""
    async with uow:
        voucher = await uow.vouchers.get(cmd.voucher_id, for_update=True)
        if voucher is None:
            return  # a payment for a voucher this service never issued: nothing to do here
        if voucher.payout_failed(cmd.reason, cmd.redemption_id):
            await uow.vouchers.save(voucher)
        await uow.commit()


async def mark_voucher_payout_returned(cmd: commands.MarkVoucherPayoutReturned, uow: VoucherUnitOfWork) -> None:
    """V4: a paid voucher whose payment came back is redeemed again, showing why (the ledger's payment.returned)."""
    async with uow:
        voucher = await uow.vouchers.get(cmd.voucher_id, for_update=True)
        if voucher is None:
            return
        if voucher.payout_returned(cmd.payment_id, cmd.reason, cmd.redemption_id):
            await uow.vouchers.save(voucher)
        await uow.commit()


# -- the rest of the life cycle (V4, V5, X2) -----------------------------------------------------
MAX_EXPIRY_CHUNK = 1000


async def expire_due_vouchers(cmd: commands.ExpireDueVouchers, uow: VoucherUnitOfWork, clock: Clock) -> int:
    """V5: expire what is due, one chunk per transaction; returns how many vouchers expired.

    Safe with two replicas sweeping at once: each chunk locks its rows and skips rows another
    sweep holds (PostgreSQL; SQLite runs one writer at a time), and a voucher expires only from
    issued or enrolled, so running again expires nothing twice and emits nothing twice.
    """
    if isinstance(cmd.limit, bool) or not isinstance(cmd.limit, int) or not 1 <= cmd.limit <= MAX_EXPIRY_CHUNK:
        raise InvalidArgument([FieldViolation("limit", f"must be between 1 and {MAX_EXPIRY_CHUNK}")])
    now = cmd.now or clock.now()
    expired = 0
    while True:
        async with uow:
            due = await uow.vouchers.due_for_expiry(now, cmd.limit)
            in_chunk = 0
            for voucher in due:
                if voucher.expire(now):
                    await uow.vouchers.save(voucher)
                    in_chunk += 1
            await uow.commit()
        expired += in_chunk
        if len(due) < cmd.limit or not in_chunk:
            return expired


def _checked_lifecycle_request(voucher_id: str, reason: str) -> str:
    """Every bad field at once, before anything is looked up; returns the plain voucher id."""
    violations: list[FieldViolation] = []
    voucher_id = fields.ENTITY_ID.check(voucher_id, "voucher_id", violations)
    REASON.check(reason, "reason", violations)
    require(violations)
    return voucher_id


async def cancel_voucher(cmd: commands.CancelVoucher, uow: VoucherUnitOfWork, clock: Clock) -> Voucher:
    """V4: the bureau cancels an issued or enrolled voucher, with its reason."""
    voucher_id = _checked_lifecycle_request(cmd.voucher_id, cmd.reason)
    async with uow:
        voucher = await _voucher(uow, voucher_id)
        voucher.cancel(cmd.reason, clock.now())
        await uow.vouchers.save(voucher)
        await uow.commit()
    return voucher


async def revoke_voucher(cmd: commands.RevokeVoucher, uow: VoucherUnitOfWork, clock: Clock) -> Voucher:
    """X2: fraud. The certificate is not freed; an unpaid redemption's claim line is withdrawn and
    a paid value is recorded as due for recovery (both carried by voucher.revoked)."""
    voucher_id = _checked_lifecycle_request(cmd.voucher_id, cmd.reason)
    async with uow:
        voucher = await _voucher(uow, voucher_id)
        await uow.persons.lock(voucher.holder.id_lookup)  # the person's entitlements change
        voucher.revoke(cmd.reason, clock.now())
        await uow.vouchers.save(voucher)
        await uow.commit()
    return voucher


async def roll_back_redemption(cmd: commands.RollBackRedemption, uow: VoucherUnitOfWork, clock: Clock) -> Voucher:
    """Before payment only (X2 after): enrolled again, the certificate free, the claim line withdrawn."""
    voucher_id = _checked_lifecycle_request(cmd.voucher_id, cmd.reason)
    async with uow:
        voucher = await _voucher(uow, voucher_id)
        certificate = None
        if voucher.state is VoucherState.REDEEMED and voucher.certificate_id:
            certificate = await uow.certificates.get(voucher.certificate_id, for_update=True)
        await uow.persons.lock(voucher.holder.id_lookup)  # the person's entitlements change (L1-L4)
        voucher.roll_back_redemption(certificate, cmd.reason, clock.now())
        await uow.certificates.release(certificate, voucher.voucher_id)
        await uow.vouchers.save(voucher)
        await uow.commit()
    return voucher


HANDLERS = {
    commands.RegisterOccupation: register_occupation,
    commands.ReviseOccupation: revise_occupation,
    commands.RegisterInstitution: register_institution,
    commands.SuspendInstitution: suspend_institution,
    commands.ReinstateInstitution: reinstate_institution,
    commands.RemoveInstitution: remove_institution,
    commands.UpdateInstitutionBankAccount: update_institution_bank_account,
    commands.IssueVoucher: issue_voucher,
    commands.EnrolVoucher: enrol_voucher,
    commands.CreateBatch: create_batch,
    commands.IssueBatchChunk: issue_batch_chunk,
    commands.ClaimVoucher: claim_voucher,
    commands.CreatePresentationToken: create_presentation_token,
    commands.SetHardshipGroups: set_hardship_groups,
    commands.RecordCertificate: record_certificate,
    commands.RedeemVoucher: redeem_voucher,
    commands.MarkVoucherPaid: mark_voucher_paid,
    commands.MarkVoucherPayoutFailed: mark_voucher_payout_failed,
    commands.MarkVoucherPayoutReturned: mark_voucher_payout_returned,
    commands.RecordEmployment: record_employment,
    commands.ExpireDueVouchers: expire_due_vouchers,
    commands.CancelVoucher: cancel_voucher,
    commands.RevokeVoucher: revoke_voucher,
    commands.RollBackRedemption: roll_back_redemption,
}
