"""The voucher service's use cases: one handler per command, each owning its unit of work."""

from __future__ import annotations

from skillpay import fields
from skillpay.clock import Clock
from skillpay.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, PermissionDenied, require
from skillpay.actors import ActorKind
from skillpay.ids import new_id
from skillpay.pii import PiiVault, mask_resident_id, validate_resident_id
from voucher_svc.domain.eligibility import DEFAULT_POLICY, Candidate, EligibilityPolicy
from voucher_svc.domain.lifecycle import REASON
from voucher_svc.domain.model import (Certificate, Institution, Occupation, PersonIdentity, Voucher, VoucherState,
                                      check_level)
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


async def issue_voucher(cmd: commands.IssueVoucher, uow: VoucherUnitOfWork, clock: Clock, vault: PiiVault,
                        funds: FundDirectory) -> Voucher:
    violations: list[FieldViolation] = []
    holder = identify_person(vault, cmd.resident_id, cmd.name, violations)
    fields.OCCUPATION_CODE.check(cmd.occupation_code, "occupation_code", violations)
    check_level(cmd.level, violations)
    violations += Voucher.field_violations(cmd.fund_source, cmd.batch_id, cmd.valid_until, clock.now())
    require(violations)  # every bad field at once, before anything is looked up
    # V4, F1: a voucher whose fund the ledger does not know could never be paid. Known funds are
    # cached by the directory, so this asks the ledger once per fund, not once per voucher.
    if not await funds.is_known(cmd.fund_source.strip()):
        raise InvalidArgument([FieldViolation("fund_source", "is not a fund the ledger has opened; finance opens "
                                                             "it first (V4, F1)")])
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
    async with uow:
        voucher = await _voucher(uow, cmd.voucher_id)
        institution = await uow.institutions.get(checked_id(cmd.institution_id, "institution_id"))
        if institution is None:
            raise NotFound("institution not found")
        already_enrolled = voucher.state is VoucherState.ENROLLED
        voucher.enrol(institution, cmd.real_person_verified, clock.now())
        if not already_enrolled:
            # L4, and L2/L3 ahead of time (the voucher's occupation and level are known); L1 waits
            # for redemption, since its year is the certificate's.
            await _check_eligible(uow, eligibility, voucher, Candidate(
                voucher.voucher_id, voucher.occupation_code, voucher.level, enrolled_at=clock.now()))
        await uow.vouchers.save(voucher)
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
    commands.RegisterInstitution: register_institution,
    commands.IssueVoucher: issue_voucher,
    commands.EnrolVoucher: enrol_voucher,
    commands.RecordCertificate: record_certificate,
    commands.RedeemVoucher: redeem_voucher,
    commands.MarkVoucherPaid: mark_voucher_paid,
    commands.MarkVoucherPayoutFailed: mark_voucher_payout_failed,
    commands.ExpireDueVouchers: expire_due_vouchers,
    commands.CancelVoucher: cancel_voucher,
    commands.RevokeVoucher: revoke_voucher,
    commands.RollBackRedemption: roll_back_redemption,
}
