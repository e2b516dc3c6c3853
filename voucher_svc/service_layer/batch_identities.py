"""V1 for a streamed batch: a chunk's persons identified ahead, while the chunk before it is written.

Identifying a chunk (validating, sealing and hashing up to 5,000 resident IDs) is pure CPU work that
needs no database; writing the chunk before it is mostly waiting for the database. ``prepare``
identifies a chunk in slices, giving the event loop back between slices, so it fills the waits of
the chunk being issued; the chunk's handler then ``take``s the result instead of identifying the
persons itself. The chunks are still issued one after the other, in the order sent, and a chunk
nobody prepared (a unary caller, a test) is identified by its handler as before.

The prepared result is kept for that very command object only (not an equal one): the handler
gets exactly what its own command's persons give, and the command, its fingerprint and its stored
answer are unchanged.
"""

from __future__ import annotations

import asyncio

from skillpay.errors import FieldViolation
from skillpay.pii import PiiVault
from voucher_svc.domain import batch as batches
from voucher_svc.service_layer import commands

SLICE = 500  # persons identified between two turns of the event loop (a few ms)
MAX_PREPARED = 8  # chunks prepared and not yet taken (streams that broke off leave theirs)


def identify_rows(vault: PiiVault, cmd: commands.IssueBatchChunk, start: int, stop: int) -> list[batches.Candidate]:
    """V1: rows ``start``..``stop`` of the chunk, each identified or with its violations."""
    # The one place persons are identified (imported here: the handlers import this module).
    from voucher_svc.service_layer.handlers import identify_person

    candidates = []
    first_row = cmd.first_row
    for i, (resident_id, name) in enumerate(cmd.persons[start:stop], start):
        found: list[FieldViolation] = []
        holder = identify_person(vault, resident_id, name, found)
        candidates.append(batches.Candidate(first_row + i, holder, tuple(found)))
    return candidates


class ChunkIdentities:
    """Chunks identified ahead of their handler (see the module's docstring)."""

    def __init__(self, vault: PiiVault):
        self._vault = vault
        self._prepared: dict[int, tuple[commands.IssueBatchChunk, list[batches.Candidate]]] = {}

    async def prepare(self, cmd: commands.IssueBatchChunk) -> None:
        """Identify the chunk's persons, a slice at a time, for ``take`` to hand to its handler."""
        persons = cmd.persons
        if not isinstance(persons, tuple) or not 0 < len(persons) <= batches.MAX_CHUNK_PERSONS:
            return  # the handler refuses it (naming the field); nothing to prepare
        candidates: list[batches.Candidate] = []
        for start in range(0, len(persons), SLICE):
            candidates += identify_rows(self._vault, cmd, start, start + SLICE)
            await asyncio.sleep(0)
        while len(self._prepared) >= MAX_PREPARED:
            self._prepared.pop(next(iter(self._prepared)))
        self._prepared[id(cmd)] = (cmd, candidates)

    def discard(self, cmd: commands.IssueBatchChunk) -> None:
        entry = self._prepared.get(id(cmd))
        if entry is not None and entry[0] is cmd:
            del self._prepared[id(cmd)]

    def take(self, cmd: commands.IssueBatchChunk) -> list[batches.Candidate]:
        """The chunk's candidates: prepared for this command, or identified now."""
        entry = self._prepared.get(id(cmd))
        if entry is not None and entry[0] is cmd:
            del self._prepared[id(cmd)]
            return entry[1]
        return identify_rows(self._vault, cmd, 0, len(cmd.persons))
