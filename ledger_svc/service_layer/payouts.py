"""The payout worker: moves payments through the bank, never paying anything twice.

A payment is marked ``submitted`` and committed *before* the bank is called. If the call times
out, or the process dies mid-call, the payment is in doubt: it is resolved by asking the bank
(``query``), and sent again only once the bank says it never received it. The bank also
deduplicates by payment id, so even that resend cannot pay twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ledger_svc.service_layer.bank import (
    BankUnavailable,
    PaymentAdapter,
    PaymentError,
    PaymentInDoubt,
    PaymentInstruction,
    PaymentRejected,
    PaymentStatus,
)
from ledger_svc.domain.model import PaymentState
from ledger_svc.service_layer import commands
from skillpay import tracing
from skillpay.actors import service_actor
from skillpay.messagebus import MessageBus
from skillpay.pii import PiiVault

log = logging.getLogger(__name__)
ACTOR = service_actor("ledger")


class PayoutWorker:
    """Drives payments through the bank. Every state change is a command on the bus; this loop
    only decides what to ask next and talks to the payment adapters."""

    def __init__(self, bus: MessageBus, uow_factory: Callable, adapters: dict[str, PaymentAdapter], vault: PiiVault,
                 poll_interval_s: float = 0.1, concurrency: int = 16):
        self._bus = bus
        self._uow = uow_factory
        self._adapters = adapters
        self._vault = vault
        self._poll = poll_interval_s
        self._limit = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()

    async def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = await self.run_once()
            except Exception:  # noqa: BLE001 - a bad round must not stop the payouts
                log.exception("payout round failed")
                busy = False
            if not busy:
                try:
                    await asyncio.wait_for(self._stopping.wait(), self._poll)
                except asyncio.TimeoutError:
                    pass

    async def run_once(self) -> bool:
        """One round over every payment that needs the bank; True if anything moved."""
        async with self._uow(read_only=True) as uow:
            waiting = await uow.payments.ids_in_state([PaymentState.AWAITING_FUNDS], 200)
            pending = await uow.payments.ids_in_state([PaymentState.PENDING], 200)
            open_ = await uow.payments.ids_in_state([PaymentState.SUBMITTED, PaymentState.IN_DOUBT], 500)
        moved = [await self._bus.handle(commands.CommitFunds(actor=ACTOR, payment_id=pid)) for pid in waiting]
        results = await asyncio.gather(*[self._guarded(self._submit, pid) for pid in pending],
                                       *[self._guarded(self._resolve, pid) for pid in open_])
        return any(moved) or any(r is True for r in results[: len(pending)])

    async def _guarded(self, step, payment_id: str):
        async with self._limit:
            try:
                return await step(payment_id)
            except BankUnavailable:
                return False  # nothing reached the bank; next round tries again
            except Exception:  # noqa: BLE001
                log.exception("payout step failed for %s", payment_id)
                return False

    async def _submit(self, payment_id: str) -> bool:
        # In the trace of the payout request that created the payment (when tracing is on).
        with tracing.continued("payment submit", f"payment:{payment_id}"):
            return await self._submit_traced(payment_id)

    async def _submit_traced(self, payment_id: str) -> bool:
        payment = await self._bus.handle(commands.StartSubmission(actor=ACTOR, payment_id=payment_id))
        if payment is None:
            return False
        adapter = self._adapters[payment.channel]
        # Everything here derives from the payout request, so a resubmission after a restore is
        # byte-for-byte the same instruction and the bank answers with its first result.
        instruction = PaymentInstruction(
            payment_id=payment.payment_id, channel=payment.channel,
            payee_id_number=self._vault.unseal(payment.payee.id_sealed), payee_name=payment.payee.name,
            payee_account=None, amount_fen=payment.amount_fen, fund_source=payment.fund_code,
            memo=f"training subsidy {payment.payment_id}")
        try:
            status = await adapter.submit(instruction)
        except BankUnavailable:
            await self._bus.handle(commands.ReturnToPending(actor=ACTOR, payment_id=payment_id))
            raise
        except PaymentInDoubt:
            log.warning("payment %s is in doubt; it will be resolved by asking the bank", payment_id)
            await self._bus.handle(commands.MarkInDoubt(actor=ACTOR, payment_id=payment_id))
            return True
        except PaymentRejected as exc:
            await self._apply(payment_id, "failed", failure_reason=f"rejected by bank: {exc.reason}"[:200])
            return True
        await self._apply_status(payment_id, status)
        return True

    async def _resolve(self, payment_id: str) -> bool:
        async with self._uow(read_only=True) as uow:
            payment = await uow.payments.get(payment_id)
        if payment is None or payment.state not in (PaymentState.SUBMITTED, PaymentState.IN_DOUBT):
            return False
        try:
            status = await self._adapters[payment.channel].query(payment_id)
        except PaymentError:
            return False
        if status is None:
            # The bank never received it: safe to send again.
            await self._bus.handle(commands.ReturnToPending(actor=ACTOR, payment_id=payment_id))
            return True
        if status.state == "accepted":
            return await self._apply_status(payment_id, status)  # nothing to see: not traced
        with tracing.continued("payment outcome", f"payment:{payment_id}"):
            return await self._apply_status(payment_id, status)

    async def _apply_status(self, payment_id: str, status: PaymentStatus) -> bool:
        return await self._apply(payment_id, status.state, bank_ref=status.bank_ref, settled_at=status.settled_at,
                                 failure_reason=(status.failure_reason or "")[:200])

    async def _apply(self, payment_id: str, state: str, **fields) -> bool:
        return await self._bus.handle(commands.ApplyBankStatus(actor=ACTOR, payment_id=payment_id, state=state,
                                                               **fields))
