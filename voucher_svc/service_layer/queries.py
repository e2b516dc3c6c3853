"""Reads that need more than a repository call: the entrypoints' queries with a rule of their own."""

from __future__ import annotations

from skillpay import fields
from skillpay.errors import FieldViolation, InvalidArgument, require
from skillpay.paging import decode_token, page_size, split_page
from skillpay.pii import PiiVault, validate_resident_id
from voucher_svc.domain.employment import EmploymentRecord
from voucher_svc.service_layer.unit_of_work import VoucherUnitOfWork


def employment_key(e: EmploymentRecord) -> str:
    return f"{e.start_date.isoformat()}|{e.employment_id}"


async def list_employment(uow: VoucherUnitOfWork, vault: PiiVault, resident_id: str, requested_size: int,
                          page_token: str) -> tuple[list[EmploymentRecord], str]:
    """ListEmployment: a person's evidence, latest start first, found by the ID's keyed hash (V1)."""
    violations: list[FieldViolation] = []
    canonical = ""
    if fields.RESIDENT_ID.check(resident_id, "resident_id", violations):
        try:
            canonical = validate_resident_id(resident_id)
        except InvalidArgument as exc:
            violations += exc.violations
    require(violations)
    limit = page_size(requested_size)
    after = decode_token(page_token, "employment")
    async with uow:
        items = await uow.employment.of_person(vault.lookup_hash(canonical), after, limit + 1)
    return split_page(items, limit, employment_key, "employment")
