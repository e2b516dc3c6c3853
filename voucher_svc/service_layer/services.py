"""Use cases of the voucher service. Each runs inside a unit of work the caller commits."""

from __future__ import annotations

from datetime import date, datetime

from skillpay.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, require
from skillpay.ids import new_id
from skillpay.pii import PiiVault, mask_resident_id, validate_resident_id
from voucher_svc.domain.model import (
    Certificate,
    CertificateType,
    Institution,
    Occupation,
    PersonIdentity,
    Voucher,
)


def identify_person(vault: PiiVault, resident_id: str, name: str) -> PersonIdentity:
    """V1: validate the resident ID, then keep it only sealed, hashed and masked."""
    violations: list[FieldViolation] = []
    canonical = None
    try:
        canonical = validate_resident_id(resident_id)
    except InvalidArgument as exc:
        violations += exc.violations
    if not name.strip():
        violations.append(FieldViolation("name", "is required"))
    elif len(name.strip()) > 64:
        violations.append(FieldViolation("name", "must be at most 64 characters"))
    require(violations)
    return PersonIdentity(name.strip(), vault.lookup_hash(canonical), vault.seal(canonical), mask_resident_id(canonical))


async def register_occupation(uow, code: str, name: str, level: int, subsidy_standard_fen: int,
                              new_occupation: bool, now: datetime) -> Occupation:
    occupation = Occupation.register(code, name, level, subsidy_standard_fen, new_occupation, now)
    if await uow.occupations.get(code, level) is not None:
        raise AlreadyExists(f"occupation {code} level {level} is already in the catalogue")
    await uow.occupations.add(occupation)
    return occupation


async def register_institution(uow, name: str, credit_code: str, address: str, occupation_codes: list[str],
                               now: datetime) -> Institution:
    institution = Institution.register(new_id("ins"), name, credit_code, address, occupation_codes, now)
    unknown = [c for c in institution.occupation_codes if not await uow.occupations.exists_code(c)]
    if unknown:
        raise InvalidArgument([FieldViolation("occupation_codes", f"not in the occupation catalogue: {', '.join(unknown)}")])
    if await uow.institutions.get_by_credit_code(institution.credit_code) is not None:
        raise AlreadyExists("an institution with this credit code is already in the catalogue")
    await uow.institutions.add(institution)
    return institution


async def _occupation(uow, code: str, level: int) -> Occupation:
    occupation = await uow.occupations.get(code, level)
    if occupation is None:
        # A1: only catalogue occupations are subsidised.
        raise InvalidArgument([FieldViolation("occupation_code", f"{code} level {level} is not in the occupation catalogue (A1)")])
    return occupation


async def issue_voucher(uow, vault: PiiVault, resident_id: str, name: str, occupation_code: str, level: int,
                        fund_source: str, batch_id: str, valid_until: datetime | None, now: datetime) -> Voucher:
    holder = identify_person(vault, resident_id, name)
    if valid_until is None:
        raise InvalidArgument([FieldViolation("valid_until", "is required (V5)")])
    occupation = await _occupation(uow, occupation_code, level)
    voucher = Voucher.issue(new_id("vch"), holder, occupation, fund_source, batch_id, valid_until, now)
    await uow.vouchers.add(voucher)
    return voucher


async def _voucher(uow, voucher_id: str, for_update: bool = False) -> Voucher:
    voucher = await uow.vouchers.get(voucher_id, for_update=for_update)
    if voucher is None:
        raise NotFound(f"voucher {voucher_id} not found")
    return voucher


async def enrol_voucher(uow, voucher_id: str, institution_id: str, real_person_verified: bool, now: datetime) -> Voucher:
    voucher = await _voucher(uow, voucher_id, for_update=True)
    institution = await uow.institutions.get(institution_id)
    if institution is None:
        raise NotFound(f"institution {institution_id} not found")
    voucher.enrol(institution, real_person_verified, now)
    await uow.vouchers.save(voucher)
    return voucher


async def record_certificate(uow, vault: PiiVault, resident_id: str, name: str, certificate_number: str,
                             certificate_type: CertificateType | None, occupation_code: str, level: int,
                             issued_on: date | None, now: datetime) -> Certificate:
    holder = identify_person(vault, resident_id, name)
    certificate = Certificate.record(new_id("crt"), certificate_number, certificate_type, holder, occupation_code,
                                     level, issued_on, now)
    await _occupation(uow, occupation_code, level)
    if await uow.certificates.find_by_number(certificate.certificate_type, certificate.certificate_number):
        raise AlreadyExists("a certificate with this type and number is already recorded")
    await uow.certificates.add(certificate)
    return certificate


async def redeem_voucher(uow, voucher_id: str, certificate_id: str, now: datetime) -> Voucher:
    voucher = await _voucher(uow, voucher_id, for_update=True)
    certificate = await uow.certificates.get(certificate_id, for_update=True)
    if certificate is None:
        raise NotFound(f"certificate {certificate_id} not found")
    occupation = await _occupation(uow, voucher.occupation_code, voucher.level)
    voucher.redeem(certificate, occupation, now)
    await uow.certificates.mark_redeemed(certificate)
    await uow.vouchers.save(voucher)
    return voucher


async def mark_voucher_paid(uow, voucher_id: str, payment_id: str, paid_at: datetime) -> None:
    """Consumer of payment.settled: the voucher's subsidy reached the payee."""
    voucher = await uow.vouchers.get(voucher_id, for_update=True)
    if voucher is None:
        return  # a payment for a voucher this service never issued: nothing to do here
    if voucher.mark_paid(payment_id, paid_at):
        await uow.vouchers.save(voucher)
