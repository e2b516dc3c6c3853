"""Reads that depend on who asks: a person sees only their own vouchers and record (V1, X1).

The gRPC servicer checks the role against the permission table first (``bus.authorize``), then
asks here. Staff see resident IDs masked; only the person themself gets their own ID in full,
unsealed for that one reply and never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from skillpay.actors import Actor, ActorKind
from skillpay.errors import FieldViolation, NotFound, PermissionDenied, require
from skillpay.paging import decode_token, page_size, split_page
from skillpay.pii import PiiVault
from voucher_svc.domain.employment import EmploymentRecord
from voucher_svc.domain.model import Voucher, VoucherState
from voucher_svc.domain.person import Person
from voucher_svc.service_layer.handlers import person_lookup
from voucher_svc.service_layer.unit_of_work import VoucherUnitOfWork


def shows_bank_account(actor: Actor, institution_id: str) -> bool:
    """An institution's payout account is for staff, services and the institution itself; workers
    and other institutions see it masked (the account is where subsidies go: not a public fact)."""
    if actor.kind is ActorKind.PERSON:
        return False
    return actor.kind is not ActorKind.INSTITUTION or actor.subject == institution_id


def employment_key(e: EmploymentRecord) -> str:
    return f"{e.start_date.isoformat()}|{e.employment_id}"


@dataclass(frozen=True)
class PersonView:
    person: Person
    resident_id: str = ""  # the full ID: only when the person asks about themself


class VoucherQueries:
    def __init__(self, uow_factory: Callable[..., VoucherUnitOfWork], vault: PiiVault):
        self._uow = uow_factory
        self._vault = vault

    async def get_person(self, actor: Actor, resident_id: str) -> PersonView:
        """Staff name the person by resident ID; a PERSON gets their own record (no ID needed)."""
        if actor.kind is ActorKind.PERSON:
            id_lookup = actor.subject
            if resident_id:
                violations: list[FieldViolation] = []
                asked = person_lookup(self._vault, resident_id, violations)
                require(violations)
                if asked != id_lookup:
                    raise PermissionDenied("a person may look up only themself")
        else:
            violations = []
            if not resident_id:
                violations.append(FieldViolation("resident_id", "is required"))
            else:
                id_lookup = person_lookup(self._vault, resident_id, violations)
            require(violations)
        async with self._uow(read_only=True) as uow:
            person = await uow.persons.get(id_lookup)
        if person is None:
            raise NotFound("person not found")
        if actor.kind is ActorKind.PERSON and actor.subject == person.id_lookup:
            return PersonView(person, self._vault.unseal(person.id_sealed))
        return PersonView(person)

    async def get_voucher(self, actor: Actor, voucher_id: str) -> Voucher:
        async with self._uow(read_only=True) as uow:
            voucher = await uow.vouchers.get(voucher_id)
        # A person's question about someone else's voucher is answered as if it did not exist.
        if voucher is None or (actor.kind is ActorKind.PERSON and voucher.holder.id_lookup != actor.subject):
            raise NotFound("voucher not found")
        return voucher

    async def list_vouchers(self, actor: Actor, after: str | None, limit: int,
                            state: VoucherState | None) -> list[Voucher]:
        holder = actor.subject if actor.kind is ActorKind.PERSON else None
        async with self._uow(read_only=True) as uow:
            return await uow.vouchers.list(after, limit, state, holder_lookup=holder)

    async def list_employment(self, resident_id: str, requested_size: int,
                              page_token: str) -> tuple[list[EmploymentRecord], str]:
        """ListEmployment (staff): a person's evidence, latest start first, found by the ID's keyed hash (V1)."""
        violations: list[FieldViolation] = []
        id_lookup = person_lookup(self._vault, resident_id, violations)
        require(violations)
        limit = page_size(requested_size)
        after = decode_token(page_token, "employment")
        async with self._uow(read_only=True) as uow:
            items = await uow.employment.of_person(id_lookup, after, limit + 1)
        return split_page(items, limit, employment_key, "employment")
