"""V2 in the handler tests: the holder's app asks for a presentation token through the bus."""

from __future__ import annotations

from skillpay.actors import Actor, ActorKind
from voucher_svc.service_layer import commands


def holder_of(voucher) -> Actor:
    """The PERSON actor of a voucher's holder (subject: the resident ID's look-up hash)."""
    return Actor(ActorKind.PERSON, voucher.holder.id_lookup)


async def presented(bus, voucher) -> str:
    """A fresh single-use presentation token for ``voucher``, as its holder's app gets it."""
    issued = await bus.handle(commands.CreatePresentationToken(actor=holder_of(voucher), voucher_id=voucher.voucher_id))
    return issued.token
