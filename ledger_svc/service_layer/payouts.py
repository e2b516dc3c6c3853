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

from ledger_svc.adapters.payments import (
    BankUnavailable,
    PaymentAdapter,
    PaymentError,
    PaymentInDoubt,
    PaymentInstruction,
    PaymentRejected,
    PaymentStatus,
)
from ledger_svc.domain.model import Payment, PaymentState
from ledger_svc.service_layer import services
from skillpay.clock import utcnow
from skillpay.db import with_retries
from skillpay.pii import PiiVault

log = logging.getLogger(__name__)


class PayoutWorker:
    def __init__(self, uow_factory: Callable, adapters: dict[str, PaymentAdapter], vault: PiiVault,
                 poll_interval_s: float = 0.1, concurrency: int = 16):
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
        moved = [await self._commit_waiting(pid) for pid in waiting]
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

    async def _update(self, payment_id: str, change) -> Payment | None:
        """Load, change and save one payment in its own transaction (retried on conflicts)."""
        async def attempt():
            async with self._uow() as uow:
                payment = await uow.payments.get(payment_id, for_update=True)
                if payment is None:
                    return None
                if await change(uow, payment) is False:
                    return None
                await uow.payments.save(payment)
                await uow.commit()
                return payment
        return await with_retries(attempt)

    async def _commit_waiting(self, payment_id: str) -> bool:
        async def change(uow, payment: Payment):
            if payment.state is not PaymentState.AWAITING_FUNDS:
                return False
            return await services.try_commit_funds(uow, payment, utcnow())
        return await self._update(payment_id, change) is not None

    async def _submit(self, payment_id: str) -> bool:
        async def mark(uow, payment: Payment):
            if payment.state is not PaymentState.PENDING:
                return False
            payment.submitting(utcnow())
        payment = await self._update(payment_id, mark)
        if payment is None:
            return False
        adapter = self._adapters[payment.channel]
        instruction = PaymentInstruction(
            payment_id=payment.payment_id, channel=payment.channel,
            payee_id_number=self._vault.unseal(payment.payee.id_sealed), payee_name=payment.payee.name,
            payee_account=None, amount_fen=payment.amount_fen, fund_source=payment.fund_code,
            memo=f"training subsidy {payment.claim_id}")
        try:
            status = await adapter.submit(instruction)
        except BankUnavailable:
            await self._update(payment_id, self._back_to_pending)
            raise
        except PaymentInDoubt:
            log.warning("payment %s is in doubt; it will be resolved by asking the bank", payment_id)
            await self._update(payment_id, self._mark_in_doubt)
            return True
        except PaymentRejected as exc:
            await self._update(payment_id, self._failer(f"rejected by bank: {exc.reason}"))
            return True
        await self._apply_status(payment_id, status)
        return True

    @staticmethod
    async def _back_to_pending(uow, payment: Payment):
        payment.not_received_by_bank()

    @staticmethod
    async def _mark_in_doubt(uow, payment: Payment):
        payment.in_doubt()

    @staticmethod
    def _failer(reason: str):
        async def change(uow, payment: Payment):
            await services.fail_payment(uow, payment, reason, utcnow())
        return change

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
            await self._update(payment_id, self._back_to_pending)
            return True
        return await self._apply_status(payment_id, status)

    async def _apply_status(self, payment_id: str, status: PaymentStatus) -> bool:
        async def change(uow, payment: Payment):
            if status.state == "settled":
                await services.settle_payment(uow, payment, status.bank_ref, status.settled_at or utcnow())
            elif status.state == "failed":
                await services.fail_payment(uow, payment, status.failure_reason or "failed at bank", utcnow())
            else:
                if payment.state is PaymentState.IN_DOUBT or payment.bank_ref != status.bank_ref:
                    payment.accepted(status.bank_ref)
                else:
                    return False
        return await self._update(payment_id, change) is not None
