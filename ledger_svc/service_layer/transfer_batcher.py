"""Group commit for the transfer engine: concurrent requests applied as one batch, one transaction.

Every payout of a fund touches the same few accounts (its ``available`` and ``payables``), so
one transaction per transfer queues every writer behind the same row locks. Instead, requests
(``CreateTransfers`` calls, the ledger's own callers) are queued; one worker takes everything
queued (up to ``max_batch`` transfers, after an optional short ``linger``), loads what the batch
needs with its accounts locked in one sorted order, applies it with the pure engine
(``apply_transfers``), writes the outcome and commits, then hands every request its own
results. While one batch commits, the next one gathers.

Requests stay apart within a batch:

- a linked chain never spans requests: a chain still open at the end of a request fails there,
  with ``LINKED_EVENT_CHAIN_OPEN`` for that request only (it never reaches the batch);
- one request never fails another's transfers: results are per transfer, and should a batch
  fail as a whole (an error, not a result), its requests are applied again one by one, so the
  error reaches only the request that causes it.

Every transfer a request creates (result ``OK``; not ``EXISTS``, not a failure) leaves an audit
record naming that request's actor, request id and command, written with the batch in the same
transaction (X2: who posted a correction is on record). The actor travels with its request: one
batch holds the requests of several callers.

Lost races are retried (serialization failures and deadlocks on PostgreSQL, a transfer id
inserted meanwhile by another process: the next attempt sees it and answers ``EXISTS``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledger_svc.domain.transfers import (
    AUDIT_TYPE,
    Transfer,
    TransferFlags,
    TransferResult,
    apply_transfers,
    audit_state,
    chains,
)
from ledger_svc.service_layer.unit_of_work import LedgerUnitOfWork
from skillpay.actors import Actor
from skillpay.clock import Clock
from skillpay.db import is_duplicate, with_retries

log = logging.getLogger(__name__)

# Like TigerBeetle's batches: what one request, and one batch, may hold.
MAX_BATCH = 8190


@dataclass(eq=False)
class _Request:
    actor: Actor  # who asked: named by the audit record of each transfer it creates
    command: str
    results: list[TransferResult | None]
    transfers: list[Transfer] = field(default_factory=list)  # those that go into the batch
    positions: list[int] = field(default_factory=list)  # where each stands in the request
    future: asyncio.Future | None = None

    def resolve(self, results: Sequence[TransferResult]) -> None:
        for position, result in zip(self.positions, results, strict=True):
            self.results[position] = result
        if not self.future.done():
            self.future.set_result(self.results)

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


def _split(request: Sequence[Transfer], actor: Actor, command: str) -> _Request:
    """The request's transfers that go into a batch; a chain left open at its end fails here."""
    prepared = _Request(actor, command, results=[None] * len(request))
    for chain in chains(request):
        if request[chain[-1]].flags & TransferFlags.LINKED:
            for i in chain:
                prepared.results[i] = TransferResult.LINKED_EVENT_FAILED
            prepared.results[chain[-1]] = TransferResult.LINKED_EVENT_CHAIN_OPEN
            continue
        prepared.transfers.extend(request[i] for i in chain)
        prepared.positions.extend(chain)
    return prepared


class TransferBatcher:
    def __init__(self, uow_factory: Callable[[], LedgerUnitOfWork], clock: Clock, max_batch: int = MAX_BATCH,
                 linger_s: float = 0.0, attempts: int = 8):
        self._uow_factory = uow_factory
        self._clock = clock
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._attempts = attempts
        self._queue: deque[_Request] = deque()
        self._queued = 0  # transfers waiting
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self.batches = 0  # committed batches, for tests and the benchmark's summary
        self.batched_transfers = 0

    async def submit(self, request: Sequence[Transfer], actor: Actor,
                     command: str = "CreateTransfers") -> list[TransferResult]:
        """Apply ``request`` in the next batch; one result per transfer, in order. Each transfer it
        creates is audited as ``command`` of ``actor`` (with the actor's request id)."""
        prepared = _split(request, actor, command)
        if not prepared.transfers:
            return prepared.results
        loop = asyncio.get_running_loop()
        prepared.future = loop.create_future()
        if self._worker is None or self._worker.done() or self._worker.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._worker = loop.create_task(self._run(), name="transfer-batcher")
        self._queue.append(prepared)
        self._queued += len(prepared.transfers)
        self._wake.set()
        return await prepared.future

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        while self._queue:
            self._queue.popleft().fail(RuntimeError("the ledger is stopping"))

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                if self._linger_s and self._queued < self._max_batch:
                    await asyncio.sleep(self._linger_s)
                group, size = [], 0
                while self._queue and (not group or size + len(self._queue[0].transfers) <= self._max_batch):
                    request = self._queue.popleft()
                    group.append(request)
                    size += len(request.transfers)
                self._queued -= size
                try:
                    await self._apply_group(group)
                except asyncio.CancelledError:
                    for request in group:
                        request.fail(RuntimeError("the ledger is stopping"))
                    raise
                except Exception as exc:  # noqa: BLE001 - the worker must outlive any one group
                    log.exception("a transfer batch failed unexpectedly")
                    for request in group:
                        request.fail(exc)

    async def _apply_group(self, group: list[_Request]) -> None:
        try:
            results = await self._commit(group)
        except Exception as exc:  # noqa: BLE001 - handed to the requests below
            if len(group) == 1:
                log.warning("a transfer request failed as a whole (%s)", type(exc).__name__)
                group[0].fail(exc)
                return
            # One request must not fail another's transfers: apply them apart.
            for request in group:
                await self._apply_group([request])
            return
        offset = 0
        for request in group:
            request.resolve(results[offset:offset + len(request.transfers)])
            offset += len(request.transfers)

    async def _commit(self, group: list[_Request]) -> tuple[TransferResult, ...]:
        batch = [t for request in group for t in request.transfers]

        async def attempt():
            uow = self._uow_factory()
            async with uow:
                accounts, existing, pending = await uow.transfers.load_for(batch)
                now = self._clock.now()
                outcome = apply_transfers(batch, accounts, existing, pending, now)
                if outcome.created:
                    await uow.transfers.save(outcome)
                    await uow.audit.add_rows(_audit_rows(group, outcome.results, now))
                    await uow.commit()
            self.batches += 1
            self.batched_transfers += len(batch)
            return outcome.results

        for race in range(3):
            try:
                return await with_retries(attempt, self._attempts)
            except Exception as exc:
                # Another process inserted one of these ids (or resolved one of these pending
                # transfers) meanwhile; the next attempt reads it and answers accordingly.
                if race == 2 or not is_duplicate(exc):
                    raise
        raise AssertionError("unreachable")


def _audit_rows(group: list[_Request], results: Sequence[TransferResult], now) -> list[tuple]:
    """One audit row (``skillpay.audit_trail.audit_row``) per transfer the batch created, naming the
    request that asked for it; EXISTS (a retry) and failures create nothing, so they record nothing."""
    rows, offset, ok = [], 0, TransferResult.OK
    for request in group:
        actor = request.actor
        common = (now, actor.kind.value, actor.subject, actor.request_id, request.command, AUDIT_TYPE)
        for k, t in enumerate(request.transfers):
            if results[offset + k] is ok:
                rows.append((*common, t.id, "", audit_state(t.flags)))
        offset += len(request.transfers)
    return rows
