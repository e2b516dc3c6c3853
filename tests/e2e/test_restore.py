"""A service restored empty mid-batch: every id is derived, so nothing is paid twice.

claim_svc derives the claim, its line and the payout request id from the voucher; the ledger
uses the payout request id as its payment id and idempotency key and sends it to the bank as
``payment_id``. A service that loses its database reads every topic again from the start and
re-creates what it had under the same ids; the next service (or the bank) recognises them and
refuses to pay again. The bank simulator's own records are the ground truth here: after a
restore the ledger's history is not one continuous history, so the shared
``assert_paid_exactly_once`` (which counts journal entries) is only used where it still holds.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from skillpay.claim.v1 import claim_pb2
from skillpay.cli.demo import STANDARD_FEN, Clients, _all_pages, run_batch
from skillpay.ledger.v1 import ledger_pb2
from skillpay.cli.stack import Stack
from skillpay.voucher.v1 import voucher_pb2
from tests.conftest import _pg_admin, _run_in_thread
from tests.e2e.conftest import assert_ledger_verified, assert_paid_exactly_once, bank_statement, connect

pytestmark = pytest.mark.e2e

FUND = "ESF-DEMO"
COUNT = 16
LOSE_AT = 5  # redeemed vouchers when the database is lost


# -- helpers ------------------------------------------------------------------------------------
def wipe_database(stack: Stack, name: str) -> None:
    """Lose a (stopped) service's database: SQLite file and its journal files, or the PG database."""
    url = stack.database_urls.get(name)
    if not url or url.startswith("sqlite"):
        path = Path(make_url(url).database) if url else stack.data_dir / f"{name}.sqlite3"
        assert path.exists(), f"no database at {path}"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    database = make_url(url).database
    _run_in_thread(_pg_admin(f'DROP DATABASE "{database}" WITH (FORCE)'))
    _run_in_thread(_pg_admin(f'CREATE DATABASE "{database}"'))  # empty; the service migrates it


class LoseDatabaseMidBatch:
    """``run_batch``'s ``on_redeemed``: once ``at`` vouchers are redeemed, a service loses its database.

    Redemption pauses (each task that finishes a voucher waits here) until ``before_loss`` has run
    and the service is killed and its database gone; it resumes while the service is still down,
    so some vouchers are redeemed after the loss. Then the service starts again on an empty
    database, waits until healthy, and ``after_restart`` runs.
    """

    def __init__(self, stack: Stack, name: str, at: int, before_loss=None, after_restart=None):
        self.stack, self.name, self.at = stack, name, at
        self.before_loss, self.after_restart = before_loss, after_restart
        self.resume = asyncio.Event()
        self.resume.set()
        self.begun = False
        self.killed_at: float | None = None  # wall clock, once the process is dead
        self.restarted = False

    async def __call__(self, redeemed: int) -> None:
        if self.begun or redeemed < self.at:
            await self.resume.wait()
            return
        self.begun = True  # before any await: other vouchers finish meanwhile
        self.resume.clear()
        try:
            if self.before_loss:
                await self.before_loss()
            await asyncio.to_thread(self.stack.stop_service, self.name, signal.SIGKILL)
            self.killed_at = time.time()
            await asyncio.to_thread(wipe_database, self.stack, self.name)
        finally:
            self.resume.set()
        self.stack.start_service(self.name)
        await asyncio.to_thread(self.stack.wait_ready, 60, [self.name])
        if self.after_restart:
            await self.after_restart()
        self.restarted = True

    async def redeemed_after_loss(self, clients: Clients, vouchers: list[str]) -> set[str]:
        """Vouchers redeemed after the process died: the lost database never knew them."""
        assert self.restarted and self.killed_at is not None
        replies = await asyncio.gather(*[clients.voucher.GetVoucher(voucher_pb2.GetVoucherRequest(voucher_id=v))
                                         for v in vouchers])
        return {r.voucher_id for r in replies
                if r.redeemed_at.ToDatetime(tzinfo=timezone.utc).timestamp() > self.killed_at}


async def all_payments(clients: Clients) -> list[ledger_pb2.Payment]:
    return await _all_pages(clients.ledger.ListPayments, ledger_pb2.ListPaymentsRequest(page_size=500), "payments")


async def all_claims(clients: Clients) -> list[claim_pb2.Claim]:
    return await _all_pages(clients.claim.ListClaims, claim_pb2.ListClaimsRequest(page_size=500), "claims")


async def wait_for_payments(clients: Clients, at_least: int, *, with_bank_ref: bool, timeout_s: float = 30) -> list:
    """Until the ledger holds ``at_least`` payments (that reached the bank, with ``with_bank_ref``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        payments = await all_payments(clients)
        ready = [p for p in payments if p.bank_ref or not with_bank_ref]
        if len(ready) >= at_least:
            return payments
        assert time.monotonic() < deadline, f"only {len(ready)} payment(s) after {timeout_s}s"
        await asyncio.sleep(0.1)


def bank_duplicates(stack: Stack) -> dict:
    reply = httpx.get(f"{stack.bank_url}/v1/duplicates", timeout=10)
    reply.raise_for_status()
    return reply.json()


def assert_bank_paid_each_once(stack: Stack, payment_ids: set[str], count: int) -> None:
    """The bank's own records: each payment id once, one per voucher, each for the standard amount."""
    entries = bank_statement(stack)
    ids = [e["payment_id"] for e in entries]
    assert len(ids) == len(set(ids)) == count, f"bank statement: {len(ids)} entries, {len(set(ids))} ids"
    assert {e["status"] for e in entries} == {"settled"}
    assert set(ids) == payment_ids
    assert sum(e["amount_fen"] for e in entries) == count * STANDARD_FEN


async def assert_every_claim_paid(clients: Clients, vouchers: list[str], timeout_s: float = 20) -> list:
    """One claim per voucher, every one PAID (the claim service may still be catching up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        claims = [c for c in await all_claims(clients) if c.voucher_id in set(vouchers)]
        if len(claims) == len(vouchers) and all(c.state == claim_pb2.CLAIM_STATE_PAID for c in claims):
            break
        if time.monotonic() > deadline:
            states = {c.voucher_id: claim_pb2.ClaimState.Name(c.state) for c in claims}
            pytest.fail(f"{len(claims)} claim(s) for {len(vouchers)} vouchers, not all paid: {states}")
        await asyncio.sleep(0.2)
    assert sorted(c.voucher_id for c in claims) == sorted(vouchers)
    assert all(c.payment_id for c in claims)
    return claims


# -- the tests ----------------------------------------------------------------------------------
async def test_claim_database_lost_mid_batch_every_voucher_paid_once(stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    known_to_ledger: set[str] = set()  # payout requests the ledger had when the claims were lost

    async def some_payouts_requested() -> None:
        # A few payouts requested (and reaching the bank) first, so claims are re-created for them.
        known_to_ledger.update(p.payment_id for p in await wait_for_payments(clients, 3, with_bank_ref=True))

    loss = LoseDatabaseMidBatch(stack, "claim", LOSE_AT, before_loss=some_payouts_requested)
    try:
        report = await run_batch(clients, COUNT, concurrency=4, timeout_s=90, on_redeemed=loss)
        assert loss.restarted, "the claim database was never lost"
        claims = await assert_every_claim_paid(clients, report.vouchers)
        # The ledger's history is continuous here, so the shared invariants hold as they are.
        report.claim_states = {"CLAIM_STATE_PAID": len(claims)}
        await assert_paid_exactly_once(stack, clients, report, COUNT, STANDARD_FEN)
        assert_bank_paid_each_once(stack, {c.payment_id for c in claims}, COUNT)

        # Re-created claims asked for the same payout request ids again: refused by the ledger...
        payments = {p.payment_id: p for p in await all_payments(clients)}
        assert set(payments) == {c.payment_id for c in claims}
        refused = {pid for pid, p in payments.items() if p.duplicate_requests > 0}
        assert known_to_ledger <= refused, f"not refused: {known_to_ledger - refused}"
        assert all(payments[pid].duplicate_requests == 1 for pid in refused)  # one restore, one repeat
        ledger_log = (stack.logs_dir / "ledger.log").read_text(errors="replace")
        for pid in refused:
            assert f"payout request {pid} is already known" in ledger_log
        # ...while a claim only the restored service ever knew was requested once.
        after = await loss.redeemed_after_loss(clients, report.vouchers)
        assert after, "no voucher was redeemed after the loss"
        assert {payments[c.payment_id].duplicate_requests for c in claims if c.voucher_id in after} == {0}
        # The bank never even saw a second submission.
        assert bank_duplicates(stack) == {"duplicates": [], "total_replayed": 0, "total_conflicting": 0}
    finally:
        await clients.close()


async def test_ledger_database_lost_mid_batch_every_voucher_paid_once(stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    sent_to_bank: set[str] = set()  # payments the bank had when the ledger was lost

    async def some_payments_sent() -> None:
        payments = await wait_for_payments(clients, 3, with_bank_ref=True)
        sent_to_bank.update(p.payment_id for p in payments if p.bank_ref)

    async def fund_again() -> None:
        # The bureau opens its fund and allocates the budget again (new requests, new ids).
        await clients.ledger.OpenFund(ledger_pb2.OpenFundRequest(
            request_id=uuid.uuid4().hex, fund_code=FUND, name="就业补助资金 (restored)",
            fund_type=ledger_pb2.FUND_TYPE_EMPLOYMENT_SUBSIDY), wait_for_ready=True, timeout=30)
        await clients.ledger.AllocateBudget(ledger_pb2.AllocateBudgetRequest(
            request_id=uuid.uuid4().hex, fund_code=FUND, amount_fen=COUNT * STANDARD_FEN,
            memo="budget after restore"), wait_for_ready=True, timeout=30)

    loss = LoseDatabaseMidBatch(stack, "ledger", LOSE_AT, before_loss=some_payments_sent, after_restart=fund_again)
    try:
        report = await run_batch(clients, COUNT, fund_code=FUND, concurrency=4, timeout_s=90, on_redeemed=loss)
        assert loss.restarted, "the ledger database was never lost"
        assert report.paid == COUNT, f"not every voucher was paid: {report.voucher_states}"
        claims = await assert_every_claim_paid(clients, report.vouchers)
        assert_bank_paid_each_once(stack, {c.payment_id for c in claims}, COUNT)

        # The restored ledger re-created every payment from the replayed payout requests, under the
        # same ids, and the bank answered with what it had: the same bank reference, paid once.
        payments = {p.payment_id: p for p in await all_payments(clients)}
        assert set(payments) == {c.payment_id for c in claims}
        assert {p.state for p in payments.values()} == {ledger_pb2.PAYMENT_STATE_SETTLED}
        bank_refs = {e["payment_id"]: e["bank_ref"] for e in bank_statement(stack)}
        assert {pid: p.bank_ref for pid, p in payments.items()} == bank_refs

        # The bank saw the payments it already had again, with identical bodies: replayed, not paid.
        duplicates = bank_duplicates(stack)
        replayed = {d["payment_id"] for d in duplicates["duplicates"] if d["replayed"] > 0}
        assert duplicates["total_replayed"] > 0
        assert duplicates["total_conflicting"] == 0
        assert sent_to_bank <= replayed, f"not replayed at the bank: {sent_to_bank - replayed}"
        bank_log = (stack.logs_dir / "bank.log").read_text(errors="replace")
        for pid in replayed:
            assert f"duplicate payment refused payment_id={pid} outcome=replayed" in bank_log
        # A payment only the restored ledger ever knew reached the bank once.
        after = await loss.redeemed_after_loss(clients, report.vouchers)
        assert after, "no voucher was redeemed after the loss"
        assert not replayed & {c.payment_id for c in claims if c.voucher_id in after}

        # The restored ledger balances on its own: the new budget covers what it paid.
        fund = next(f for f in await _all_pages(clients.ledger.ListFunds, ledger_pb2.ListFundsRequest(page_size=100),
                                                "funds") if f.fund_code == FUND)
        assert fund.disbursed_fen == COUNT * STANDARD_FEN
        assert fund.payable_fen == 0
        assert fund.allocated_fen == fund.available_fen + fund.payable_fen + fund.disbursed_fen
        await assert_ledger_verified(clients)  # VerifyLedger: every account is the sum of its transfers
    finally:
        await clients.close()
