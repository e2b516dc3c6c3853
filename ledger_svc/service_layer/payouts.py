"""The payout worker: moves payments through the bank, never paying anything twice.

Each round moves every payment it can, one step at a time, each step ONE command: one database
transaction whose transfers are one batch (group commit; the accounts are locked once, in one
sorted order): funds are committed for all awaiting payments at once, all queued payments are
marked submitted at once (their amounts moved into clearing), and a bank batch's answers -- or
the status answers of all open payments -- are applied at once.

A payment is marked ``submitted`` and committed *before* the bank is called. Queued payments
are handed to the bank in batches per channel (at most ``batch_size`` each, with control totals;
the adapter is chosen by payee kind, :func:`adapter_for`), and each instruction's answer is
applied on its own: accepted or already known (its first result), or rejected with the bank's
reason. If a batch call times out, its answer is lost or unreadable, or the bank refuses the
batch as a whole, every payment in it is in doubt: it is resolved by asking the bank (``query``),
and sent again -- under the same id -- only once the bank says it never received it. The bank
also deduplicates by payment id, so even that resend cannot pay twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ledger_svc.domain.model import Payment, PaymentState
from ledger_svc.service_layer import commands
from ledger_svc.service_layer.commands import BankAnswer
from ledger_svc.service_layer.bank import (
    PAYEE_KIND_FOR_CHANNEL,
    BankPayee,
    BankUnavailable,
    BatchRefused,
    InstructionOutcome,
    PaymentAdapter,
    PaymentBatch,
    PaymentError,
    PaymentInDoubt,
    PaymentInstruction,
    PaymentStatus,
    adapter_for,
)
from skillpay import tracing
from skillpay.actors import service_actor
from skillpay.messagebus import MessageBus
from skillpay.pii import PiiVault

log = logging.getLogger(__name__)
ACTOR = service_actor("ledger")
DEFAULT_BATCH_SIZE = 100


def bank_payee(payment: Payment, id_number: str) -> BankPayee:
    """Who the bank pays for ``payment``: the payee kind is what the requester chose the channel
    by (C7: persons to their social security card, institutions by bank transfer)."""
    payee = payment.payee
    return BankPayee(kind=PAYEE_KIND_FOR_CHANNEL[payment.channel], name=payee.name, id_number=id_number,
                     card_number=payee.card_number or None, account_number=payee.account_number or None,
                     bank_code=payee.bank_code or None)


class PayoutWorker:
    """Drives payments through the bank. Every state change is a command on the bus; this loop
    only decides what to ask next and talks to the payment adapters."""

    def __init__(self, bus: MessageBus, uow_factory: Callable, adapters: dict[str, PaymentAdapter], vault: PiiVault,
                 poll_interval_s: float = 0.1, concurrency: int = 16, batch_size: int = DEFAULT_BATCH_SIZE):
        if not 1 <= batch_size <= 500:
            raise ValueError("batch_size must be 1..500 (the bank's limit)")
        self._bus = bus
        self._uow = uow_factory
        self._adapters = adapters
        self._vault = vault
        self._poll = poll_interval_s
        self._limit = asyncio.Semaphore(concurrency)
        self._batch_size = batch_size
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
            queued = await uow.payments.ids_in_state([PaymentState.QUEUED], 200)
            open_ = await uow.payments.ids_in_state([PaymentState.SUBMITTED, PaymentState.IN_DOUBT], 500)
        moved = await self._step(commands.CommitFunds(actor=ACTOR, payment_ids=tuple(waiting))) if waiting else []
        # Those just committed go to the bank in this same round (StartSubmission skips any that failed).
        queued = sorted(set(queued) | set(moved or []))
        submitted, resolved = await asyncio.gather(self._submit_queued(queued), self._resolve_all(open_))
        return bool(moved) or submitted or resolved

    async def _guarded(self, step, *args: Any):
        async with self._limit:
            try:
                return await step(*args)
            except BankUnavailable:
                return False  # nothing reached the bank; next round tries again
            except Exception:  # noqa: BLE001
                log.exception("payout step failed for %s", args[0] if args else "?")
                return False

    # -- submitting ---------------------------------------------------------------------------

    async def _submit_queued(self, queued: list[str]) -> bool:
        """Start every queued payment (one command), then hand them to the bank in batches per channel."""
        if not queued:
            return False
        started = await self._step(commands.StartSubmission(actor=ACTOR, payment_ids=tuple(queued))) or []
        groups: dict[str, tuple[PaymentAdapter, list[PaymentInstruction]]] = {}
        for payment in started:
            adapter, instruction = self._instruction(payment)
            groups.setdefault(adapter.channel, (adapter, []))[1].append(instruction)
        batches = [(adapter, PaymentBatch.of(instructions[i:i + self._batch_size]))
                   for adapter, instructions in groups.values()
                   for i in range(0, len(instructions), self._batch_size)]
        await asyncio.gather(*[self._guarded(self._submit_batch, adapter, batch) for adapter, batch in batches])
        return bool(started)

    def _instruction(self, payment: Payment) -> tuple[PaymentAdapter, PaymentInstruction]:
        """The payment's instruction (C7: the payee's card, or account and bank code, as requested)."""
        payee = bank_payee(payment, self._vault.unseal(payment.payee.id_sealed))
        # Everything here derives from the payout request, so a resubmission after a restore is
        # byte-for-byte the same instruction and the bank answers with its first result.
        instruction = payee.instruction(payment.payment_id, payment.amount_fen, payment.fund_code,
                                        f"training subsidy {payment.payment_id}")
        return adapter_for(self._adapters, payee), instruction

    async def _submit_batch(self, adapter: PaymentAdapter, batch: PaymentBatch) -> bool:
        # In the trace of the payout request that created the batch's first payment (when tracing is on).
        ids = tuple(batch.payment_ids)
        try:
            with tracing.continued("payment submit", f"payment:{batch.payment_ids[0]}"):
                answer = await adapter.submit_batch(batch)
        except BankUnavailable:
            await self._step(commands.ReturnToQueue(actor=ACTOR, payment_ids=ids))
            raise
        except (PaymentInDoubt, BatchRefused) as exc:
            # No usable answer, or nothing accepted by this call while the bank may know some of
            # them from before: ask the bank about each, never send them under new ids.
            log.warning("batch %s (%d payments) is in doubt (%s); each will be resolved by asking the bank",
                        batch.batch_id, len(batch.instructions), type(exc).__name__)
            await self._step(commands.MarkInDoubt(actor=ACTOR, payment_ids=ids))
            return True
        answers: list[BankAnswer] = []
        answered = set()
        for result in answer.results:
            if result.payment_id in answered:
                log.info("the bank answered payment %s twice; the first answer counts", result.payment_id)
                continue
            answered.add(result.payment_id)
            if result.outcome is InstructionOutcome.REJECTED:
                answers.append(BankAnswer(result.payment_id, "failed",
                                          failure_reason=f"rejected by bank: {result.reason}"[:200]))
            else:
                assert result.status is not None
                answers.append(_answer(result.status))
        for pid in sorted(set(batch.payment_ids) - answered):
            log.warning("the bank's answer to batch %s does not mention payment %s; it is in doubt",
                        batch.batch_id, pid)
            answers.append(BankAnswer(pid, "in_doubt"))
        # The whole batch's answers in one transaction, their transfers in one batch.
        await self._step(commands.ApplyBankAnswers(actor=ACTOR, answers=tuple(answers)))
        return True

    async def _step(self, command) -> Any:
        """One step's command; a failure is logged and leaves the round going. The payment events it
        writes join the trace of the payout request that created each payment."""
        try:
            with tracing.events_in_their_origin_traces("payment"):
                return await self._bus.handle(command)
        except Exception:  # noqa: BLE001
            log.exception("payout step %s failed", type(command).__name__)
            return False

    # -- resolving ----------------------------------------------------------------------------

    async def _resolve_all(self, open_: list[str]) -> bool:
        """Ask the bank about every open payment (concurrently), then apply all answers at once."""
        if not open_:
            return False
        answers = [a for a in await asyncio.gather(*[self._guarded(self._query, pid) for pid in open_]) if a]
        if not answers:
            return False
        changed = await self._step(commands.ApplyBankAnswers(actor=ACTOR, answers=tuple(answers)))
        return bool(changed)

    async def _query(self, payment_id: str) -> BankAnswer | None:
        """The bank's word on an open payment; in doubt is resolved only this way (or by the statement)."""
        async with self._uow(read_only=True) as uow:
            payment = await uow.payments.get(payment_id)
        if payment is None or payment.state not in (PaymentState.SUBMITTED, PaymentState.IN_DOUBT):
            return None
        try:
            status = await self._adapters[payment.channel].query(payment_id)
        except PaymentError:
            return None
        if status is None:
            return BankAnswer(payment_id, "not_received")  # the bank never received it: safe to send again
        return _answer(status)


def _answer(status: PaymentStatus) -> BankAnswer:
    if status.state == "settled" and status.returned_at is not None:
        return BankAnswer(status.payment_id, "returned", status.bank_ref, settled_at=status.settled_at,
                          returned_at=status.returned_at, return_reason=(status.return_reason or "")[:35])
    return BankAnswer(status.payment_id, status.state, status.bank_ref, settled_at=status.settled_at,
                      failure_reason=(status.failure_reason or "")[:200])
