"""The payout worker's batches, on the in-memory unit of work and an in-memory bank.

Queued payments go to the bank in batches per channel (the adapter chosen by payee kind, C7),
with control totals; each instruction's answer is applied on its own; a batch without a usable
answer leaves every payment in it in doubt, resolved only by asking the bank, never by sending
it under a new id. The HTTP adapters and the simulator are tested in
tests/integration/test_bank_simulator.py.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from ledger_svc.bootstrap import bootstrap
from ledger_svc.domain.model import FundType, Payee, PaymentState
from ledger_svc.domain.transfers import TransferCode
from ledger_svc.service_layer import commands
from ledger_svc.service_layer.bank import (
    CHANNEL_BANK_TRANSFER,
    CHANNEL_SSC_CARD,
    PAYEE_INSTITUTION,
    PAYEE_PERSON,
    BankPayee,
    BankUnavailable,
    BatchRefused,
    BatchResult,
    InstructionOutcome,
    InstructionResult,
    PaymentAdapter,
    PaymentAdapters,
    PaymentBatch,
    PaymentInDoubt,
    PaymentStatus,
    StatementLine,
    adapter_for,
)
from ledger_svc.service_layer.payouts import PayoutWorker
from skillpay.actors import Actor, ActorKind, service_actor
from skillpay.cli import sample_data
from skillpay.clock import FixedClock
from skillpay.pii import PiiVault, mask_resident_id
from tests.fakes import FakeLedgerUnitOfWork

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
FINANCE = Actor(ActorKind.FINANCE, "finance-1")
FUND = "esf-2025"
VAULT = PiiVault(bytes(32), bytes(range(32)))
ACCOUNT, BANK_CODE = "6222020200112233445", "102100099996"


class InMemoryBank(PaymentAdapter):
    """One channel of a bank that settles at once; it can be told to misbehave."""

    def __init__(self, channel: str, known: dict[str, PaymentStatus]):
        self.channel = channel
        self.known = known  # shared by the channels, as one bank's records
        self.batches: list[PaymentBatch] = []
        self.raise_next: Exception | None = None
        self.reject: dict[str, str] = {}
        self.answer_twice: set[str] = set()
        self.leave_out: set[str] = set()

    async def submit_batch(self, batch: PaymentBatch) -> BatchResult:
        assert batch.channel == self.channel
        self.batches.append(batch)
        if isinstance(self.raise_next, BankUnavailable):
            exc, self.raise_next = self.raise_next, None
            raise exc
        results = []
        for instr in batch.instructions:
            if instr.payment_id in self.reject:
                results.append(InstructionResult(instr.payment_id, InstructionOutcome.REJECTED,
                                                  reason=self.reject[instr.payment_id]))
                continue
            outcome = InstructionOutcome.ALREADY_KNOWN if instr.payment_id in self.known else \
                InstructionOutcome.ACCEPTED
            status = self.known.setdefault(instr.payment_id, PaymentStatus(
                instr.payment_id, "settled", f"REF-{instr.payment_id}", None, NOW))
            if instr.payment_id in self.leave_out:
                continue
            results.append(InstructionResult(instr.payment_id, outcome, status=status))
            if instr.payment_id in self.answer_twice:
                results.append(results[-1])
        if self.raise_next is not None:  # the bank took them, the answer is lost
            exc, self.raise_next = self.raise_next, None
            raise exc
        return BatchResult(batch.batch_id, tuple(results))

    async def query(self, payment_id: str) -> PaymentStatus | None:
        return self.known.get(payment_id)

    async def statement(self, day: date) -> list[StatementLine]:
        return []

    async def aclose(self) -> None:
        pass

    def submitted_ids(self) -> list[str]:
        return [pid for batch in self.batches for pid in batch.payment_ids]


@pytest.fixture
def uows():
    return FakeLedgerUnitOfWork.factory(FixedClock(NOW))


@pytest.fixture
def bus(uows):
    return bootstrap(uows, clock=FixedClock(NOW))


@pytest.fixture
def bank():
    known: dict[str, PaymentStatus] = {}
    return PaymentAdapters({c: InMemoryBank(c, known) for c in (CHANNEL_SSC_CARD, CHANNEL_BANK_TRANSFER)})


def worker(bus, uows, bank, batch_size=100) -> PayoutWorker:
    return PayoutWorker(bus, uows, bank, VAULT, batch_size=batch_size)


async def request(bus, n_persons: int, n_institutions: int = 0, amount_fen: int = 10_000) -> list[str]:
    await bus.handle(commands.OpenFund(actor=FINANCE, fund_code=FUND, name="就业补助资金",
                                       fund_type=FundType.EMPLOYMENT_SUBSIDY))
    await bus.handle(commands.AllocateBudget(actor=FINANCE.for_request("budget"), fund_code=FUND,
                                             amount_fen=10**9))
    rng = random.Random(8)
    ids = []
    for i in range(n_persons + n_institutions):
        person = i < n_persons
        if person:
            rid = sample_data.resident_id(rng)
            payee = Payee("张三", mask_resident_id(rid), VAULT.seal(rid))
        else:
            payee = Payee("某职业培训学校", "", VAULT.seal("91110101MA01ABCD2X"), account_number=ACCOUNT,
                          bank_code=BANK_CODE)
        pid = f"po_{i:04d}"
        await bus.handle(commands.RequestPayout(
            actor=service_actor("claim").for_request(f"event:{i}"), payout_request_id=pid,
            channel=CHANNEL_SSC_CARD if person else CHANNEL_BANK_TRANSFER, fund_code=FUND,
            amount_fen=amount_fen + i, payee=payee, references={"claim_id": f"clm_{i}"}))
        ids.append(pid)
    return ids


def states(uows) -> dict[str, PaymentState]:
    return {pid: p.state for pid, p in uows.db.tables["payments"].items()}


def disbursements(uows) -> list:
    return [t for t in uows.db.tables["transfers"].values() if t.code is TransferCode.SETTLEMENT]


@pytest.mark.policy("C7")
def test_C7_the_adapter_is_chosen_by_payee_kind(bank):
    person = BankPayee(PAYEE_PERSON, "张三", "110105199001011234")
    institution = BankPayee(PAYEE_INSTITUTION, "某学校", "91110101MA01ABCD2X", account_number=ACCOUNT)
    assert adapter_for(bank, person).channel == CHANNEL_SSC_CARD == bank.adapter_for(person).channel
    assert adapter_for(bank, institution).channel == CHANNEL_BANK_TRANSFER
    instr = person.instruction("po_1", 100, FUND, "memo")
    assert (instr.channel, instr.payee_account) == (CHANNEL_SSC_CARD, None)
    assert "110105199001011234" not in repr(person) + repr(instr)
    with pytest.raises(ValueError):
        adapter_for(bank, BankPayee("robot", "x", "y"))


def test_a_batch_carries_a_deterministic_id_and_its_control_totals():
    payees = [BankPayee(PAYEE_PERSON, "张三", "110105199001011234")] * 3
    instructions = [p.instruction(f"po_{i}", 100 + i, FUND, "m") for i, p in enumerate(payees)]
    batch = PaymentBatch.of(instructions)
    assert (batch.control_count, batch.control_sum_fen) == (3, 303)
    assert PaymentBatch.of(instructions).batch_id == batch.batch_id
    assert PaymentBatch.of(instructions[:2]).batch_id != batch.batch_id
    assert "110105199001011234" not in batch.batch_id
    with pytest.raises(ValueError):
        PaymentBatch.of([])
    with pytest.raises(ValueError):
        PaymentBatch.of([*instructions, BankPayee(PAYEE_INSTITUTION, "学校", "x").instruction("po_9", 1, FUND, "")])


@pytest.mark.policy("C7")
async def test_C7_queued_payments_go_in_bounded_batches_per_channel_and_settle(bus, uows, bank):
    ids = await request(bus, n_persons=5, n_institutions=3)
    assert await worker(bus, uows, bank, batch_size=2).run_once()

    cards, transfers = bank[CHANNEL_SSC_CARD], bank[CHANNEL_BANK_TRANSFER]
    assert [len(b.instructions) for b in cards.batches] == [2, 2, 1]
    assert [len(b.instructions) for b in transfers.batches] == [2, 1]
    for b in cards.batches + transfers.batches:
        assert b.control_count == len(b.instructions)
        assert b.control_sum_fen == sum(i.amount_fen for i in b.instructions)
    assert sorted(cards.submitted_ids()) == ids[:5] and sorted(transfers.submitted_ids()) == ids[5:]
    # Persons to their social security card (C7); institutions to their account.
    assert all(i.payee_account is None for b in cards.batches for i in b.instructions)
    assert {(i.payee_account, i.payee_bank_code) for b in transfers.batches for i in b.instructions} == {
        (ACCOUNT, BANK_CODE)}
    assert set(states(uows).values()) == {PaymentState.SETTLED}
    assert len(disbursements(uows)) == 8


async def test_rejected_instructions_fail_with_the_banks_reason_and_the_rest_settle(bus, uows, bank):
    ids = await request(bus, n_persons=3)
    bank[CHANNEL_SSC_CARD].reject[ids[1]] = "card_frozen"
    await worker(bus, uows, bank).run_once()
    assert states(uows) == {ids[0]: PaymentState.SETTLED, ids[1]: PaymentState.FAILED,
                            ids[2]: PaymentState.SETTLED}
    assert uows.db.tables["payments"][ids[1]].failure_reason == "rejected by bank: card_frozen"
    assert len(bank[CHANNEL_SSC_CARD].batches) == 1


async def test_an_outcome_answered_twice_is_applied_once(bus, uows, bank):
    ids = await request(bus, n_persons=2)
    bank[CHANNEL_SSC_CARD].answer_twice.add(ids[0])
    await worker(bus, uows, bank).run_once()
    assert set(states(uows).values()) == {PaymentState.SETTLED}
    assert sorted(t.user_data for t in disbursements(uows)) == ids  # each paid out once


@pytest.mark.parametrize("lost", [PaymentInDoubt("read timeout"), BatchRefused("refused", reason="batch_id_conflict")])
async def test_a_batch_without_usable_answer_is_in_doubt_and_resolved_by_query_never_resent(bus, uows, bank, lost):
    ids = await request(bus, n_persons=3)
    cards = bank[CHANNEL_SSC_CARD]
    cards.raise_next = lost
    w = worker(bus, uows, bank)
    await w.run_once()
    assert set(states(uows).values()) == {PaymentState.IN_DOUBT}
    await w.run_once()  # asks the bank about each
    assert set(states(uows).values()) == {PaymentState.SETTLED}
    assert sorted(cards.submitted_ids()) == ids  # sent once: the doubt was resolved by query
    assert len(disbursements(uows)) == 3


async def test_a_payment_the_answer_leaves_out_is_in_doubt(bus, uows, bank):
    ids = await request(bus, n_persons=2)
    bank[CHANNEL_SSC_CARD].leave_out.add(ids[1])
    w = worker(bus, uows, bank)
    await w.run_once()
    assert states(uows) == {ids[0]: PaymentState.SETTLED, ids[1]: PaymentState.IN_DOUBT}
    await w.run_once()
    assert states(uows)[ids[1]] is PaymentState.SETTLED
    assert bank[CHANNEL_SSC_CARD].submitted_ids().count(ids[1]) == 1


async def test_bank_unavailable_returns_the_batch_to_the_queue_and_the_next_round_sends_it(bus, uows, bank):
    ids = await request(bus, n_persons=2)
    cards = bank[CHANNEL_SSC_CARD]
    cards.raise_next = BankUnavailable("connection refused")
    w = worker(bus, uows, bank)
    await w.run_once()
    assert set(states(uows).values()) == {PaymentState.QUEUED}
    await w.run_once()
    assert set(states(uows).values()) == {PaymentState.SETTLED}
    assert [b.payment_ids for b in cards.batches] == [tuple(ids), tuple(ids)]  # the same batch again
    assert cards.batches[0].batch_id == cards.batches[1].batch_id


async def test_a_payment_the_bank_never_received_is_sent_again_under_the_same_id(bus, uows, bank):
    ids = await request(bus, n_persons=1)
    cards = bank[CHANNEL_SSC_CARD]
    cards.leave_out.add(ids[0])
    w = worker(bus, uows, bank)
    await w.run_once()
    cards.known.clear()  # the bank lost it (it never got there)
    cards.leave_out.clear()
    await w.run_once()  # query: unknown -> queued
    assert states(uows)[ids[0]] is PaymentState.QUEUED
    await w.run_once()
    assert states(uows)[ids[0]] is PaymentState.SETTLED
    assert cards.submitted_ids() == [ids[0], ids[0]]


def test_batch_size_is_bounded_by_the_banks_limit(bus, uows, bank):
    with pytest.raises(ValueError):
        worker(bus, uows, bank, batch_size=501)




async def verified(uows) -> None:
    async with uows() as uow:
        differences, _, _ = await uow.transfers.verify()
    assert differences == []


@pytest.mark.policy("F2", "F3")
async def test_a_round_moving_200_payments_applies_one_transfer_batch_per_step(bus, uows, bank):
    ids = await request(bus, n_persons=200)
    batches, commits = getattr(uows.db, "transfer_batches", 0), uows.db.commits
    assert await worker(bus, uows, bank, batch_size=100).run_once()
    assert set(states(uows).values()) == {PaymentState.SETTLED}
    assert len(bank[CHANNEL_SSC_CARD].batches) == 2
    # commit funds (1) + mark submitted (1) + each bank batch's answers (2): one transaction each
    assert uows.db.transfer_batches - batches == 4
    assert uows.db.commits - commits == 4
    assert len(disbursements(uows)) == len(ids)
    async with uows() as uow:
        fund = await uow.funds.balances(FUND)
    assert (fund.disbursed_fen, fund.committed_fen, fund.in_transit_fen) == (sum(10_000 + i for i in range(200)), 0, 0)
    await verified(uows)


@pytest.mark.policy("C7")
async def test_the_worker_sends_the_stored_payee_details_to_the_bank(bus, uows, bank):
    await request(bus, n_persons=0, n_institutions=1)
    await worker(bus, uows, bank).run_once()
    [instr] = bank[CHANNEL_BANK_TRANSFER].batches[0].instructions
    assert (instr.payee_account, instr.payee_bank_code) == (ACCOUNT, BANK_CODE)


@pytest.mark.policy("X2")
async def test_a_return_the_status_query_reports_is_booked_and_announced(bus, uows, bank):
    ids = await request(bus, n_persons=1)
    cards = bank[CHANNEL_SSC_CARD]
    cards.leave_out.add(ids[0])
    w = worker(bus, uows, bank)
    await w.run_once()
    assert states(uows)[ids[0]] is PaymentState.IN_DOUBT
    cards.known[ids[0]] = PaymentStatus(ids[0], "settled", "REF", None, NOW, returned_at=NOW, return_reason="AC04")
    await w.run_once()
    assert states(uows)[ids[0]] is PaymentState.RETURNED
    assert [e.payload.return_code for e in uows.db.events_of_type("payment.returned")] == ["AC04"]
    async with uows() as uow:
        fund = await uow.funds.balances(FUND)
    assert (fund.available_fen, fund.returned_fen, fund.disbursed_fen) == (10**9, 10_000, 0)
    assert cards.submitted_ids() == ids  # never sent again
    await verified(uows)
