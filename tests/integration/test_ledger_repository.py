"""The ledger's payout handlers and worker on its SQL unit of work, SQLite and PostgreSQL: every money
movement a transfer of the engine in the same transaction as the payment's state, group commit
per step, races, the claim-line guard, payee details, and the upgrade of pre-engine data (0006)."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ledger_svc.adapters import repository
from ledger_svc.bootstrap import bootstrap
from ledger_svc.domain.model import Payee, PaymentState
from ledger_svc.domain.transfers import TransferCode, transfer_id
from ledger_svc.service_layer import commands
from ledger_svc.service_layer.bank import (
    CHANNEL_BANK_TRANSFER,
    CHANNEL_SSC_CARD,
    BatchResult,
    InstructionOutcome,
    InstructionResult,
    PaymentAdapter,
    PaymentBatch,
    PaymentStatus,
)
from ledger_svc.service_layer.payouts import PayoutWorker
from skillpay.actors import service_actor
from skillpay.clock import FixedClock
from skillpay.db import ConcurrentUpdate, Database
from skillpay.pii import PiiVault
from tests.integration.ledger_support import (
    FINANCE,
    LEDGER,
    MIGRATIONS,
    NOW,
    open_fund,
    payment_state,
    sql_uow_factory,
)

pytestmark = pytest.mark.integration
VAULT = PiiVault(bytes(32), bytes(range(32)))
ACCOUNT, BANK_CODE = "6222020200112233445", "102100099996"


async def _balances(uow_factory, code="ESF"):
    async with uow_factory(read_only=True) as uow:
        return await uow.funds.balances(code)


async def _verified(uow_factory) -> None:
    async with uow_factory(read_only=True) as uow:
        differences, _, _ = await uow.transfers.verify()
    assert differences == []


def _payout(pid: str, amount: int, payee: Payee | None = None, claim_line: str = "",
            channel: str = CHANNEL_SSC_CARD) -> commands.RequestPayout:
    return commands.RequestPayout(actor=service_actor("claim"), payout_request_id=pid, channel=channel,
                                  fund_code="ESF", amount_fen=amount,
                                  payee=payee or Payee("张三", "110105********1234", VAULT.seal("110105199001011234")),
                                  references={"claim_id": f"clm_{pid}", "claim_line_id": claim_line or f"cln_{pid}"})


@pytest.mark.policy("F2")
async def test_F2_two_rounds_racing_for_the_last_money_fund_exactly_one_payment(ledger_bus, ledger_uow_factory):
    await open_fund(ledger_bus, budget=1_000)
    for pid in ("po_1", "po_2"):
        await ledger_bus.handle(_payout(pid, 1_000))
    moved = await asyncio.gather(ledger_bus.handle(commands.CommitFunds(actor=LEDGER, payment_ids=("po_1",))),
                                 ledger_bus.handle(commands.CommitFunds(actor=LEDGER, payment_ids=("po_2",))))
    assert sorted(len(m) for m in moved) == [0, 1]
    assert sorted([(await payment_state(ledger_uow_factory, p)).value for p in ("po_1", "po_2")]) == [
        "awaiting_funds", "queued"]
    b = await _balances(ledger_uow_factory)
    assert (b.available_fen, b.committed_fen, b.payable_fen) == (0, 1_000, 1_000)
    await _verified(ledger_uow_factory)


@pytest.mark.policy("F3", "X2")
async def test_X2_a_payout_request_that_arrives_again_is_refused_and_counted(ledger_bus, ledger_uow_factory):
    await open_fund(ledger_bus, budget=5_000)
    ids = {(await ledger_bus.handle(_payout("po_1", 2_000))).payment_id for _ in range(3)}
    assert ids == {"po_1"}
    await ledger_bus.handle(commands.CommitFunds(actor=LEDGER, payment_ids=("po_1",)))
    async with ledger_uow_factory(read_only=True) as uow:
        payment = await uow.payments.get("po_1")
        trail = await uow.audit.list("po_1", 0, 10)
        history = await uow.transfers.history("ESF:payables", 0, 10)
    assert [t.code for _, t in history] == [TransferCode.COMMITMENT]
    assert (payment.fund_code, payment.amount_fen, payment.state) == ("ESF", 2_000, PaymentState.QUEUED)
    assert payment.duplicate_requests == 2 and payment.references == {"claim_id": "clm_po_1",
                                                                      "claim_line_id": "cln_po_1"}
    assert [(r.command, r.state_before, r.state_after) for r in trail] == [
        ("RequestPayout", "", "awaiting_funds"), ("CommitFunds", "awaiting_funds", "queued")]


@pytest.mark.policy("F2", "F3", "X2")
async def test_settled_failed_and_returned_payouts_keep_the_fund_balanced(ledger_bus, ledger_uow_factory):
    await open_fund(ledger_bus, budget=10_000)
    pids = ["po_0", "po_1", "po_2"]
    for pid in pids:
        await ledger_bus.handle(_payout(pid, 3_000))
    await ledger_bus.handle(commands.CommitFunds(actor=LEDGER, payment_ids=tuple(pids)))
    assert len(await ledger_bus.handle(commands.StartSubmission(actor=LEDGER, payment_ids=tuple(pids)))) == 3
    answers = (commands.BankAnswer("po_0", "settled", "B0", NOW),
               commands.BankAnswer("po_1", "failed", failure_reason="rejected by bank: account_closed"),
               commands.BankAnswer("po_2", "settled", "B2", NOW))
    for _ in range(2):  # the bank saying it again changes nothing (no second settlement or release)
        await ledger_bus.handle(commands.ApplyBankAnswers(actor=LEDGER, answers=answers))
    await ledger_bus.handle(commands.ApplyBankStatus(actor=LEDGER, payment_id="po_2", state="returned",
                                                     returned_at=NOW, return_reason="AC04"))
    assert [await payment_state(ledger_uow_factory, p) for p in pids] == [
        PaymentState.SETTLED, PaymentState.FAILED, PaymentState.RETURNED]
    b = await _balances(ledger_uow_factory)
    assert (b.allocated_fen, b.available_fen, b.payable_fen, b.in_transit_fen, b.disbursed_fen, b.returned_fen) == (
        10_000, 7_000, 0, 0, 3_000, 3_000)
    await _verified(ledger_uow_factory)
    async with ledger_uow_factory(read_only=True) as uow:
        assert await uow.journal.list(None, 100) == []  # the pre-engine journal is not written any more


async def test_optimistic_version_check_rejects_a_stale_write(ledger_bus, ledger_uow_factory):
    await open_fund(ledger_bus, budget=1_000)
    p = await ledger_bus.handle(_payout("po_v", 500))
    async with ledger_uow_factory() as uow:
        stale = await uow.payments.get(p.payment_id)
    async with ledger_uow_factory() as uow:
        with uow.acting(LEDGER, "CommitFunds"):
            fresh = await uow.payments.get(p.payment_id)
            fresh.funds_committed()
            await uow.payments.save(fresh)
            await uow.commit()
    async with ledger_uow_factory() as uow:
        stale.funds_committed()
        with pytest.raises(ConcurrentUpdate):
            await uow.payments.save(stale)


@pytest.mark.policy("X2")
async def test_X2_two_attempts_for_one_claim_line_racing_only_one_pays(ledger_bus, ledger_uow_factory):
    await open_fund(ledger_bus, budget=100_000)
    first, second = await asyncio.gather(ledger_bus.handle(_payout("po_a1", 5_000, claim_line="cln_1")),
                                         ledger_bus.handle(_payout("po_a2", 5_000, claim_line="cln_1")))
    by_state = {p.state: p for p in (first, second)}
    assert set(by_state) == {PaymentState.AWAITING_FUNDS, PaymentState.FAILED}
    live, refused = by_state[PaymentState.AWAITING_FUNDS], by_state[PaymentState.FAILED]
    assert live.payment_id in refused.failure_reason and "never paid twice" in refused.failure_reason
    await ledger_bus.handle(commands.CommitFunds(actor=LEDGER, payment_ids=("po_a1", "po_a2")))
    assert (await _balances(ledger_uow_factory)).committed_fen == 5_000
    # once the live one failed, a new attempt may pay the line
    await ledger_bus.handle(commands.ApplyBankStatus(actor=LEDGER, payment_id=live.payment_id, state="failed",
                                                     failure_reason="cancelled"))
    again = await ledger_bus.handle(_payout("po_a3", 5_000, claim_line="cln_1"))
    assert again.state is PaymentState.AWAITING_FUNDS
    await _verified(ledger_uow_factory)


@pytest.mark.policy("C7")
async def test_C7_payee_details_are_stored_and_read_back(ledger_bus, ledger_uow_factory):
    await open_fund(ledger_bus)
    payee = Payee("某职业培训学校", "", b"sealed", card_number="", account_number=ACCOUNT, bank_code=BANK_CODE)
    await ledger_bus.handle(_payout("po_inst", 100, payee, channel=CHANNEL_BANK_TRANSFER))
    await ledger_bus.handle(_payout("po_card", 100, Payee("张三", "110105********1234", b"s", card_number="6217001234")))
    async with ledger_uow_factory(read_only=True) as uow:
        card, inst = await uow.payments.get_many(["po_inst", "po_card"])  # by id
    assert (inst.payee.account_number, inst.payee.bank_code) == (ACCOUNT, BANK_CODE)
    assert card.payee.card_number == "6217001234"


async def test_an_allocation_under_the_longest_request_id_is_recorded(ledger_bus, ledger_uow_factory):
    from skillpay.messagebus import MAX_REQUEST_ID_CHARS

    await open_fund(ledger_bus)
    await ledger_bus.handle(commands.AllocateBudget(actor=FINANCE.for_request("r" * MAX_REQUEST_ID_CHARS),
                                                    fund_code="ESF", amount_fen=500))
    assert (await _balances(ledger_uow_factory)).available_fen == 500


# -- the worker's round: one transfer batch per step --------------------------------------------
class SettlingBank(PaymentAdapter):
    def __init__(self, channel: str):
        self.channel = channel
        self.batches: list[PaymentBatch] = []

    async def submit_batch(self, batch: PaymentBatch) -> BatchResult:
        self.batches.append(batch)
        return BatchResult(batch.batch_id, tuple(
            InstructionResult(i.payment_id, InstructionOutcome.ACCEPTED,
                              status=PaymentStatus(i.payment_id, "settled", f"B-{i.payment_id}", None, NOW))
            for i in batch.instructions))

    async def query(self, payment_id: str):
        return None

    async def statement(self, day: date):
        return []

    async def aclose(self) -> None:
        pass


@pytest.mark.policy("F2", "F3", "C7")
async def test_a_round_moving_200_payments_does_one_transfer_batch_and_transaction_per_step(
        ledger_bus, ledger_uow_factory, monkeypatch):
    await open_fund(ledger_bus, budget=10**9)
    for i in range(200):
        await ledger_bus.handle(_payout(f"po_{i:03d}", 1_000 + i))
    loads = []
    real_load_for = repository.SqlTransferRepository.load_for

    async def counting_load_for(self, batch):
        loads.append(len(batch))
        return await real_load_for(self, batch)

    monkeypatch.setattr(repository.SqlTransferRepository, "load_for", counting_load_for)
    bank = {c: SettlingBank(c) for c in (CHANNEL_SSC_CARD, CHANNEL_BANK_TRANSFER)}
    worker = PayoutWorker(ledger_bus, ledger_uow_factory, bank, VAULT, batch_size=100)
    assert await worker.run_once()
    # commit funds (200 transfers), mark submitted (2 x 200), each bank batch's answers (100 each)
    assert loads == [200, 400, 100, 100]
    async with ledger_uow_factory(read_only=True) as uow:
        assert await uow.payments.ids_in_state([PaymentState.SETTLED], 500) == [f"po_{i:03d}" for i in range(200)]
    b = await _balances(ledger_uow_factory)
    assert (b.disbursed_fen, b.committed_fen, b.in_transit_fen) == (sum(1_000 + i for i in range(200)), 0, 0)
    await _verified(ledger_uow_factory)


# -- upgrading a pre-engine ledger (migration 0006) ---------------------------------------------
@pytest.mark.policy("C8", "F1")
async def test_C8_the_upgrade_carries_old_balances_and_payouts_in_flight_into_the_engine(database_url_factory):
    from alembic import command
    from alembic.config import Config

    url = database_url_factory("ledger")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["database_url"] = url
    await asyncio.to_thread(command.upgrade, cfg, "0004")  # before the engine existed
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO funds VALUES ('OLD', '就业补助资金', 'employment_subsidy', :t)"),
                               {"t": NOW})
            for role, debits, credits, guarded in (("budget", 10_000, 0, False), ("available", 3_700, 10_700, True),
                                                   ("payable", 2_200, 3_700, True), ("disbursed", 0, 1_500, False)):
                await conn.execute(sa.text("INSERT INTO accounts VALUES (:c, 'OLD', :r, :d, :cr, :g)"),
                                   {"c": f"OLD:{role}", "r": role, "d": debits, "cr": credits, "g": guarded})
            for pid, state, amount in (("po_q", "pending", 1_000), ("po_s", "submitted", 500),
                                       ("po_d", "settled", 1_500), ("po_f", "failed", 700)):
                await conn.execute(sa.text(
                    "INSERT INTO payments (payment_id, channel, fund_code, amount_fen, payee_name, payee_id_masked, "
                    "payee_id_sealed, state, bank_ref, failure_reason, created_at, attempts, duplicate_requests, "
                    "version) VALUES (:p, 'ssc_card', 'OLD', :a, '张三', '', :s, :st, '', '', :t, 0, 0, 0)"),
                    {"p": pid, "a": amount, "s": b"x", "st": state, "t": NOW})
                await conn.execute(sa.text("INSERT INTO payment_references VALUES (:p, 'claim_line_id', :l)"),
                                   {"p": pid, "l": f"cln_{pid}"})
        await asyncio.to_thread(command.upgrade, cfg, "head")
    finally:
        await engine.dispose()
    db = Database(url)
    try:
        uow_factory = sql_uow_factory(db, FixedClock(NOW))
        b = await _balances(uow_factory, "OLD")
        # old: allocated 10,000 = available 7,000 + payable 1,500 (queued 1,000, submitted 500) + disbursed 1,500
        assert (b.allocated_fen, b.available_fen, b.committed_fen, b.in_transit_fen, b.disbursed_fen) == (
            10_000, 7_000, 1_000, 500, 1_500)
        await _verified(uow_factory)
        assert await payment_state(uow_factory, "po_q") is PaymentState.QUEUED
        async with uow_factory(read_only=True) as uow:
            assert await uow.payments.live_for_claim_line("cln_po_q") == "po_q"
            assert await uow.payments.live_for_claim_line("cln_po_f") is None
            assert len(await uow.journal.list(None, 10)) == 0  # kept as it was (here: no entries)
        # the payouts in flight carry on: the queued one is submitted, the submitted one settles
        bus = bootstrap(uow_factory, FixedClock(NOW))
        assert [p.payment_id for p in await bus.handle(
            commands.StartSubmission(actor=LEDGER, payment_ids=("po_q",)))] == ["po_q"]
        await bus.handle(commands.ApplyBankAnswers(actor=LEDGER, answers=(
            commands.BankAnswer("po_q", "settled", "B1", NOW), commands.BankAnswer("po_s", "settled", "B2", NOW))))
        b = await _balances(uow_factory, "OLD")
        assert (b.available_fen, b.payable_fen, b.disbursed_fen) == (7_000, 0, 3_000)
        async with uow_factory(read_only=True) as uow:
            assert transfer_id("opening", "OLD", "available") in await uow.transfers.known_ids(
                [transfer_id("opening", "OLD", "available")])
        await _verified(uow_factory)
    finally:
        await db.dispose()
