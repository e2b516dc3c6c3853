"""Service-layer tests of ledger_svc's handlers on the in-memory unit of work (tests/fakes.py).

Money moves through the real, pure transfer engine (``apply_transfers``); the fake only stores
what it decides, like SqlTransferRepository. Each payout path is checked by the fund's figures
(FundBalances, from the engine's accounts) and a clean VerifyLedger. Whether the SQL storage
holds under concurrency is tests/integration's (test_payouts_sql.py, test_ledger_transfers_sql.py).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from ledger_svc.bootstrap import bootstrap
from ledger_svc.config import DEFAULT_UNKNOWN_FUND_HOLD
from ledger_svc.domain.model import FundBalances, FundType, Payee, PaymentState
from ledger_svc.domain.payout_transfers import commitment_id
from ledger_svc.domain.transfers import TransferCode, transfer_id
from ledger_svc.service_layer import commands
from ledger_svc.service_layer.handlers import claim_line_taken_reason, unknown_fund_reason
from skillpay.actors import Actor, ActorKind, service_actor
from skillpay.clock import FixedClock
from skillpay.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from skillpay.ledger.v1 import ledger_pb2 as pb
from skillpay.messagebus import Reply
from tests.fakes import FakeLedgerUnitOfWork

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=timezone.utc)
SETTLED_AT = NOW + timedelta(hours=1)
FINANCE = Actor(ActorKind.FINANCE, "finance-1")
CLAIM_SVC = service_actor("claim").for_request("event:ev-1")
WORKER = service_actor("ledger")
FUND_CODE, OTHER_FUND = "esf-2025", "uif-2025"
PAYOUT = "po_0001"
PAYEE = Payee("张三", "110105********1234", b"sealed")
# what the gRPC AllocateBudget answers with (ledger_svc/entrypoints/grpc_server.py)
FUND = Reply.protobuf(pb.Fund, lambda f: pb.Fund(fund_code=f.fund_code))
REFERENCES = {"claim_id": "clm_1", "claim_line_id": "cln_1", "voucher_id": "vch_1"}


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def uows(clock):
    return FakeLedgerUnitOfWork.factory(clock)


@pytest.fixture
def db(uows):
    return uows.db


@pytest.fixture
def bus(uows, clock):
    return bootstrap(uows, clock=clock)


@contextmanager
def nothing_stored(db):
    before = db.snapshot()
    yield
    assert (db.tables, db.outbox, db.audit_records, db.idempotency) == before


def violated_fields(err: pytest.ExceptionInfo) -> set[str]:
    return {v.field for v in err.value.violations}


async def balances(uows, fund_code=FUND_CODE) -> FundBalances:
    async with uows() as uow:
        return await uow.funds.balances(fund_code)


def transfers(db, code: TransferCode | None = None) -> list:
    return [t for t in db.tables["transfers"].values() if code is None or t.code is code]


async def verified(uows) -> None:
    """VerifyLedger: every account's stored totals are the sum of its transfers."""
    async with uows() as uow:
        differences, _, _ = await uow.transfers.verify()
    assert differences == []


def figures(allocated, available, committed=0, in_transit=0, disbursed=0, returned=0, recovered=0):
    return FundBalances(allocated, available, committed, in_transit, disbursed, returned, recovered)


def payment(db, payment_id=PAYOUT):
    return db.tables["payments"][payment_id]


async def open_fund(bus, fund_code=FUND_CODE, budget=0, request_id="budget-1"):
    await bus.handle(commands.OpenFund(actor=FINANCE, fund_code=fund_code, name="就业补助资金",
                                       fund_type=FundType.EMPLOYMENT_SUBSIDY))
    if budget:
        await allocate(bus, budget, fund_code, request_id)


async def allocate(bus, amount_fen, fund_code=FUND_CODE, request_id="budget-1"):
    return await bus.handle(commands.AllocateBudget(actor=FINANCE.for_request(request_id), fund_code=fund_code,
                                                    amount_fen=amount_fen))


def payout_requested(payout_request_id=PAYOUT, amount_fen=150_000, fund_code=FUND_CODE, claim_line="cln_1"):
    """The command claim_svc's payout.requested event turns into."""
    return commands.RequestPayout(actor=CLAIM_SVC, payout_request_id=payout_request_id, channel="ssc_card",
                                  fund_code=fund_code, amount_fen=amount_fen, payee=PAYEE,
                                  references={**REFERENCES, "claim_line_id": claim_line})


async def commit(bus, *payment_ids):
    return await bus.handle(commands.CommitFunds(actor=WORKER, payment_ids=payment_ids or (PAYOUT,)))


async def start(bus, *payment_ids):
    return await bus.handle(commands.StartSubmission(actor=WORKER, payment_ids=payment_ids or (PAYOUT,)))


async def queued(bus, budget=500_000):
    await open_fund(bus, budget=budget)
    await bus.handle(payout_requested())
    await commit(bus)


async def submitted(bus, budget=500_000):
    await queued(bus, budget)
    [started] = await start(bus)
    return started


def bank(state, **fields):
    return commands.ApplyBankStatus(actor=WORKER, payment_id=PAYOUT, state=state, **fields)


# -- OpenFund ------------------------------------------------------------------------------------
@pytest.mark.policy("F1")
async def test_open_fund_gives_the_fund_its_own_empty_accounts(bus, db, uows):
    await open_fund(bus)
    fund = db.tables["funds"][FUND_CODE]
    assert (fund.fund_type, fund.created_at) == (FundType.EMPLOYMENT_SUBSIDY, NOW)
    assert sorted(db.tables["ledger_accounts"]) == sorted(f"{FUND_CODE}:{role}" for role in (
        "appropriation", "available", "payables", "clearing", "disbursed", "returned", "recovered"))
    assert await balances(uows) == figures(0, 0)
    [record] = db.audit_for(FUND_CODE)
    assert (record.aggregate_type, record.state_before, record.state_after) == ("fund", "", "open")


@pytest.mark.policy("F1")
async def test_open_fund_rejects_bad_input_naming_every_field(bus, db):
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(commands.OpenFund(actor=FINANCE, fund_code="no spaces", name=" ", fund_type=None))
    assert violated_fields(err) == {"fund_code", "name", "fund_type"}


async def test_open_the_same_fund_twice_is_already_exists(bus, db):
    await open_fund(bus)
    with nothing_stored(db), pytest.raises(AlreadyExists):
        await open_fund(bus)


# -- AllocateBudget ------------------------------------------------------------------------------
@pytest.mark.policy("F1")
async def test_allocate_budget_is_an_allocation_transfer(bus, db, uows):
    await open_fund(bus)
    fund = await allocate(bus, 1_000_000)
    assert fund.fund_code == FUND_CODE
    assert await balances(uows) == figures(1_000_000, 1_000_000)
    [t] = transfers(db, TransferCode.ALLOCATION)
    assert (t.id, t.debit_account_id, t.credit_account_id, t.timestamp) == (
        transfer_id("allocation", "budget:budget-1"), f"{FUND_CODE}:appropriation", f"{FUND_CODE}:available", NOW)
    assert db.tables["journal"] == {}  # the pre-engine journal is no longer written
    await verified(uows)


async def test_allocate_budget_needs_a_positive_amount(bus, db):
    await open_fund(bus)
    for amount in (0, -5):
        with nothing_stored(db), pytest.raises(InvalidArgument) as err:
            await allocate(bus, amount)
        assert violated_fields(err) == {"amount_fen"}


async def test_allocate_budget_to_an_unknown_fund_is_not_found(bus, db):
    with nothing_stored(db), pytest.raises(NotFound):
        await allocate(bus, 100)


async def test_a_retried_allocation_request_allocates_once(bus, db, uows):
    await open_fund(bus)
    command = commands.AllocateBudget(actor=FINANCE.for_request("alloc-7"), fund_code=FUND_CODE, amount_fen=500)
    first = await bus.handle(command, reply=FUND)
    again = await bus.handle(command, reply=FUND)
    assert first == again
    assert (await balances(uows)).allocated_fen == 500
    assert len(transfers(db, TransferCode.ALLOCATION)) == 1


# -- RequestPayout and CommitFunds ---------------------------------------------------------------
@pytest.mark.policy("F2", "F3")
async def test_request_payout_only_records_the_payment_the_next_round_commits_funds(bus, db, uows):
    await open_fund(bus, budget=500_000)
    returned = await bus.handle(payout_requested())
    p = payment(db)
    assert returned.payment_id == p.payment_id == PAYOUT
    assert (p.state, p.fund_code, p.amount_fen, p.created_at, p.channel, p.references) == (
        PaymentState.AWAITING_FUNDS, FUND_CODE, 150_000, NOW, "ssc_card", REFERENCES)  # F3
    assert transfers(db, TransferCode.COMMITMENT) == []  # no hot row touched per event
    assert await commit(bus) == [PAYOUT]
    assert payment(db).state is PaymentState.QUEUED
    assert await balances(uows) == figures(500_000, 350_000, committed=150_000)
    [t] = transfers(db, TransferCode.COMMITMENT)
    assert t.id == commitment_id(PAYOUT)
    assert [r.state_after for r in db.audit_for(PAYOUT)] == ["awaiting_funds", "queued"]
    await verified(uows)


@pytest.mark.policy("F2")
async def test_commit_funds_commits_every_payment_it_names_in_one_batch_as_far_as_the_fund_goes(bus, db, uows):
    await open_fund(bus, budget=250_000)
    for i in range(3):
        await bus.handle(payout_requested(f"po_{i}", amount_fen=100_000, claim_line=f"cln_{i}"))
    db.transfer_batches = 0
    assert await commit(bus, "po_0", "po_1", "po_2") == ["po_0", "po_1"]
    assert db.transfer_batches == 1
    assert [payment(db, f"po_{i}").state for i in range(3)] == [
        PaymentState.QUEUED, PaymentState.QUEUED, PaymentState.AWAITING_FUNDS]
    assert await balances(uows) == figures(250_000, 50_000, committed=200_000)
    await verified(uows)


@pytest.mark.policy("X2")
async def test_the_same_payout_request_twice_gives_one_payment_committed_once(bus, db, uows):
    await open_fund(bus, budget=500_000)
    await bus.handle(payout_requested())
    await commit(bus)
    again = await bus.handle(payout_requested())
    await commit(bus)
    assert list(db.tables["payments"]) == [PAYOUT]
    assert again.duplicate_requests == payment(db).duplicate_requests == 1
    assert len(transfers(db, TransferCode.COMMITMENT)) == 1
    assert await balances(uows) == figures(500_000, 350_000, committed=150_000)


@pytest.mark.policy("F2")
async def test_a_fund_that_cannot_cover_a_payout_leaves_it_awaiting_funds_until_budget_comes(bus, db, uows):
    await open_fund(bus, budget=100_000)
    await bus.handle(payout_requested())
    # still short: committing changes nothing
    with nothing_stored(db):
        assert await commit(bus) == []
    assert payment(db).state is PaymentState.AWAITING_FUNDS
    assert await balances(uows) == figures(100_000, 100_000)
    await allocate(bus, 100_000, request_id="budget-2")
    assert await commit(bus) == [PAYOUT]
    assert payment(db).state is PaymentState.QUEUED
    assert await balances(uows) == figures(200_000, 50_000, committed=150_000)
    assert [r.state_after for r in db.audit_for(PAYOUT)] == ["awaiting_funds", "queued"]


@pytest.mark.policy("F2")
async def test_a_fund_never_pays_for_another(bus, db, uows):
    await open_fund(bus, budget=1_000_000)
    await open_fund(bus, fund_code=OTHER_FUND)
    await bus.handle(payout_requested(fund_code=OTHER_FUND))
    assert await commit(bus) == []
    assert payment(db).state is PaymentState.AWAITING_FUNDS
    assert await balances(uows) == figures(1_000_000, 1_000_000)
    assert await balances(uows, OTHER_FUND) == figures(0, 0)


@pytest.mark.policy("F1")
async def test_a_payout_from_an_unknown_fund_waits_its_hold_then_fails_with_that_reason(bus, db, clock):
    await bus.handle(payout_requested(fund_code="not-opened"))
    assert payment(db).state is PaymentState.AWAITING_FUNDS
    assert db.events_of_type("payment.failed") == []
    clock.advance(DEFAULT_UNKNOWN_FUND_HOLD - timedelta(seconds=1))
    assert await commit(bus) == []
    assert payment(db).state is PaymentState.AWAITING_FUNDS
    clock.advance(timedelta(seconds=1))
    # the payout worker tries waiting payments again: now it fails, with the reason
    assert await commit(bus) == [PAYOUT]
    p = payment(db)
    assert p.state is PaymentState.FAILED
    assert p.failure_reason.startswith("unknown fund not-opened")
    assert transfers(db) == []  # nothing was committed, so nothing is released
    [event] = db.events_of_type("payment.failed")
    assert event.payload.reason == p.failure_reason
    assert dict(event.payload.references) == REFERENCES
    assert [r.state_after for r in db.audit_for(PAYOUT)] == ["awaiting_funds", "failed"]
    # the worker has nothing left to do with it
    assert await commit(bus) == []


@pytest.mark.policy("F1")
async def test_a_hold_of_zero_fails_a_payout_from_an_unknown_fund_in_the_next_round(uows, db, clock):
    bus = bootstrap(uows, clock=clock, unknown_fund_hold=timedelta(0))
    await bus.handle(payout_requested(fund_code="not-opened"))
    await commit(bus)
    assert payment(db).state is PaymentState.FAILED
    assert len(db.events_of_type("payment.failed")) == 1


@pytest.mark.policy("F1")
async def test_a_payout_whose_fund_is_opened_within_the_hold_is_paid_under_its_own_id(bus, db, clock):
    # a ledger restored from a backup older than the fund: the payout must keep its id (the bank
    # may hold it already), so it waits for finance to open the fund again rather than failing
    await bus.handle(payout_requested())
    clock.advance(DEFAULT_UNKNOWN_FUND_HOLD / 2)
    await open_fund(bus, budget=1_000_000)
    assert await commit(bus) == [PAYOUT]
    assert payment(db).state is PaymentState.QUEUED
    assert db.events_of_type("payment.failed") == []


def test_an_unknown_fund_reason_never_repeats_a_code_that_is_not_plain():
    assert unknown_fund_reason("x" * 5000) == "unknown fund: the ledger has no such fund source (F1)"
    assert unknown_fund_reason("a\u202eb") == "unknown fund: the ledger has no such fund source (F1)"


async def test_a_payout_of_no_money_is_refused_and_nothing_is_stored(bus, db):
    await open_fund(bus, budget=500_000)
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(payout_requested(amount_fen=0))
    assert violated_fields(err) == {"amount_fen"}


async def test_only_a_service_requests_a_payout(bus, db):
    await open_fund(bus, budget=500_000)
    with nothing_stored(db), pytest.raises(PermissionDenied):
        await bus.handle(commands.RequestPayout(actor=FINANCE, payout_request_id=PAYOUT, channel="ssc_card",
                                                fund_code=FUND_CODE, amount_fen=1, payee=PAYEE))


async def test_commit_funds_for_a_payment_already_committed_or_unknown_does_nothing(bus, db):
    await queued(bus)
    with nothing_stored(db):
        assert await commit(bus) == []
        assert await commit(bus, "po_missing") == []
    assert len(transfers(db, TransferCode.COMMITMENT)) == 1


# -- one claim line, one live payout -------------------------------------------------------------
@pytest.mark.policy("X2")
async def test_a_second_payout_for_a_claim_line_with_a_live_payout_fails_naming_it(bus, db, uows):
    await queued(bus)
    second = await bus.handle(payout_requested("po_0002"))
    assert second.state is PaymentState.FAILED
    assert second.failure_reason == claim_line_taken_reason("cln_1", PAYOUT)
    assert PAYOUT in second.failure_reason
    [event] = db.events_of_type("payment.failed")
    assert event.payload.payment_id == "po_0002"
    await commit(bus, "po_0002")
    assert await balances(uows) == figures(500_000, 350_000, committed=150_000)  # committed once


@pytest.mark.policy("X2")
async def test_a_claim_line_is_paid_again_only_once_its_payout_failed(bus, db, uows):
    await submitted(bus)
    await bus.handle(bank("failed", failure_reason="rejected by bank: card_frozen"))
    again = await bus.handle(payout_requested("po_0002"))
    assert again.state is PaymentState.AWAITING_FUNDS
    assert await commit(bus, "po_0002") == ["po_0002"]
    assert await balances(uows) == figures(500_000, 350_000, committed=150_000)
    await verified(uows)


# -- StartSubmission, MarkInDoubt, ReturnToQueue -------------------------------------------------
@pytest.mark.policy("F2")
async def test_start_submission_records_the_attempt_and_moves_the_amount_into_clearing(bus, db, uows):
    returned = await submitted(bus)
    p = payment(db)
    assert returned.state is p.state is PaymentState.SUBMITTED
    assert (p.attempts, p.submitted_at) == (1, NOW)
    assert await balances(uows) == figures(500_000, 350_000, in_transit=150_000)
    assert {t.id for t in transfers(db, TransferCode.SUBMISSION)} == {
        transfer_id("commitment-posted", PAYOUT), transfer_id("submission", PAYOUT)}
    await verified(uows)


async def test_start_submission_of_a_payment_that_is_not_queued_does_nothing(bus, db):
    await submitted(bus)
    with nothing_stored(db):
        assert await start(bus) == []
        assert await start(bus, "po_missing") == []
    assert payment(db).attempts == 1


async def test_a_timed_out_submission_is_in_doubt_and_back_in_the_queue_once_the_bank_never_got_it(bus, db, uows):
    await submitted(bus)
    await bus.handle(commands.MarkInDoubt(actor=WORKER, payment_ids=(PAYOUT,)))
    assert payment(db).state is PaymentState.IN_DOUBT
    await bus.handle(commands.ReturnToQueue(actor=WORKER, payment_ids=(PAYOUT,)))
    assert payment(db).state is PaymentState.QUEUED
    assert [r.state_after for r in db.audit_for(PAYOUT)] == [
        "awaiting_funds", "queued", "submitted", "in_doubt", "queued"]
    await start(bus)  # sent again under the same id; its transfers exist already
    assert (payment(db).state, payment(db).attempts) == (PaymentState.SUBMITTED, 2)
    assert await balances(uows) == figures(500_000, 350_000, in_transit=150_000)
    await verified(uows)


async def test_mark_in_doubt_and_return_to_queue_leave_other_states_alone(bus, db):
    await queued(bus)
    records = len(db.audit_records)
    await bus.handle(commands.MarkInDoubt(actor=WORKER, payment_ids=(PAYOUT, "po_missing")))
    await bus.handle(commands.ReturnToQueue(actor=WORKER, payment_ids=(PAYOUT, "po_missing")))
    assert payment(db).state is PaymentState.QUEUED
    assert len(db.audit_records) == records


# -- ApplyBankStatus / ApplyBankAnswers ----------------------------------------------------------
@pytest.mark.policy("F3")
async def test_a_settled_payment_is_disbursed_and_announced(bus, db, uows):
    await submitted(bus)
    assert await bus.handle(bank("settled", bank_ref="B-1", settled_at=SETTLED_AT)) is True
    p = payment(db)
    assert (p.state, p.bank_ref, p.settled_at) == (PaymentState.SETTLED, "B-1", SETTLED_AT)
    [t] = transfers(db, TransferCode.SETTLEMENT)
    assert (t.id, t.user_data) == (transfer_id("settlement", PAYOUT), PAYOUT)
    assert await balances(uows) == figures(500_000, 350_000, disbursed=150_000)
    [event] = db.events_of_type("payment.settled")
    assert (event.payload.payment_id, event.payload.amount_fen, event.payload.fund_source, event.payload.bank_ref) == (
        PAYOUT, 150_000, FUND_CODE, "B-1")
    assert dict(event.payload.references) == REFERENCES
    await verified(uows)


@pytest.mark.policy("F2")
async def test_a_payment_settled_twice_is_disbursed_once(bus, db, uows):
    await submitted(bus)
    await bus.handle(bank("settled", bank_ref="B-1", settled_at=SETTLED_AT))
    with nothing_stored(db):
        assert await bus.handle(bank("settled", bank_ref="B-1", settled_at=SETTLED_AT)) is False
    assert len(transfers(db, TransferCode.SETTLEMENT)) == 1
    assert len(db.events_of_type("payment.settled")) == 1
    assert await balances(uows) == figures(500_000, 350_000, disbursed=150_000)


async def test_settled_without_a_date_from_the_bank_uses_the_clock(bus, db):
    await submitted(bus)
    await bus.handle(bank("settled", bank_ref="B-1"))
    assert payment(db).settled_at == NOW


@pytest.mark.policy("X2")
async def test_a_payment_failed_at_the_bank_gives_the_money_back_by_a_reversing_transfer(bus, db, uows):
    await submitted(bus)
    assert await bus.handle(bank("failed", failure_reason="account closed")) is True
    p = payment(db)
    assert (p.state, p.failure_reason) == (PaymentState.FAILED, "account closed")
    [release] = transfers(db, TransferCode.RELEASE)
    assert (release.debit_account_id, release.credit_account_id) == (f"{FUND_CODE}:clearing", f"{FUND_CODE}:available")
    assert len(transfers(db, TransferCode.SUBMISSION)) == 2  # nothing is deleted
    assert await balances(uows) == figures(500_000, 500_000)
    [event] = db.events_of_type("payment.failed")
    assert (event.payload.reason, dict(event.payload.references)) == ("account closed", REFERENCES)
    with nothing_stored(db):
        assert await bus.handle(bank("failed", failure_reason="again")) is False
    await verified(uows)


@pytest.mark.policy("X2")
async def test_a_payment_failed_before_submission_voids_its_commitment(bus, db, uows):
    await queued(bus)
    assert await bus.handle(bank("failed", failure_reason="cancelled")) is True
    [void] = transfers(db, TransferCode.RELEASE)
    assert void.pending_id == commitment_id(PAYOUT)
    assert await balances(uows) == figures(500_000, 500_000)
    await verified(uows)


async def test_a_failed_payment_does_not_settle_later(bus, db):
    await submitted(bus)
    await bus.handle(bank("failed", failure_reason="account closed"))
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="failed"):
        await bus.handle(bank("settled", bank_ref="B-1"))


async def test_a_payment_failed_before_its_funds_were_committed_releases_nothing(bus, db, uows):
    await open_fund(bus, budget=10)
    await bus.handle(payout_requested())
    assert await bus.handle(bank("failed", failure_reason="cancelled")) is True
    assert payment(db).state is PaymentState.FAILED
    assert transfers(db) == [t for t in transfers(db) if t.code is TransferCode.ALLOCATION]
    assert await balances(uows) == figures(10, 10)


async def test_a_payment_that_was_never_submitted_cannot_settle(bus, db):
    await queued(bus)
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="queued"):
        await bus.handle(bank("settled", bank_ref="B-1"))


async def test_accepted_by_the_bank_resolves_a_payment_in_doubt(bus, db):
    await submitted(bus)
    await bus.handle(commands.MarkInDoubt(actor=WORKER, payment_ids=(PAYOUT,)))
    assert await bus.handle(bank("accepted", bank_ref="B-9")) is True
    assert (payment(db).state, payment(db).bank_ref) == (PaymentState.SUBMITTED, "B-9")
    with nothing_stored(db):
        assert await bus.handle(bank("accepted", bank_ref="B-9")) is False


async def test_bank_status_for_an_unknown_payment_is_not_found(bus, db):
    with nothing_stored(db), pytest.raises(NotFound):
        await bus.handle(bank("settled"))


@pytest.mark.policy("X2", "F2")
async def test_a_settled_payment_returned_by_the_bank_is_available_again_and_announced(bus, db, uows):
    await submitted(bus)
    await bus.handle(bank("settled", bank_ref="B-1", settled_at=SETTLED_AT))
    assert await bus.handle(bank("returned", returned_at=SETTLED_AT + timedelta(days=3), return_reason="AC04")) is True
    p = payment(db)
    assert (p.state, p.failure_reason) == (PaymentState.RETURNED, "returned by bank: AC04")
    assert len(transfers(db, TransferCode.RETURN)) == 2
    assert await balances(uows) == figures(500_000, 500_000, returned=150_000)
    [event] = db.events_of_type("payment.returned")
    assert (event.payload.payment_id, event.payload.return_code, event.payload.reason, event.payload.amount_fen) == (
        PAYOUT, "AC04", "returned by bank: AC04", 150_000)
    assert dict(event.payload.references) == REFERENCES
    with nothing_stored(db):
        assert await bus.handle(bank("returned", return_reason="AC04")) is False
    await verified(uows)
    # the line may be paid again under a new attempt
    assert (await bus.handle(payout_requested("po_0002"))).state is PaymentState.AWAITING_FUNDS


@pytest.mark.policy("X2")
async def test_a_payment_still_open_when_its_return_arrives_is_settled_then_returned(bus, db, uows):
    await submitted(bus)
    await bus.handle(commands.MarkInDoubt(actor=WORKER, payment_ids=(PAYOUT,)))
    assert await bus.handle(bank("returned", bank_ref="B-1", return_reason="AC06")) is True
    assert payment(db).state is PaymentState.RETURNED
    assert [len(db.events_of_type(t)) for t in ("payment.settled", "payment.returned")] == [1, 1]
    assert await balances(uows) == figures(500_000, 500_000, returned=150_000)
    await verified(uows)


async def test_a_queued_payment_cannot_be_returned(bus, db):
    await queued(bus)
    with nothing_stored(db), pytest.raises(FailedPrecondition, match="settled"):
        await bus.handle(bank("returned", return_reason="AC04"))


@pytest.mark.policy("F2", "F3")
async def test_a_bank_batchs_answers_are_applied_in_one_transaction_with_one_transfer_batch(bus, db, uows):
    await open_fund(bus, budget=1_000_000)
    ids = [f"po_{i}" for i in range(4)]
    for pid in ids:
        await bus.handle(payout_requested(pid, amount_fen=100_000, claim_line=f"cln_{pid}"))
    await commit(bus, *ids)
    await start(bus, *ids)
    commits, batches = db.commits, db.transfer_batches
    answers = (commands.BankAnswer("po_0", "settled", "B-0", SETTLED_AT),
               commands.BankAnswer("po_1", "failed", failure_reason="rejected by bank: name_mismatch"),
               commands.BankAnswer("po_2", "in_doubt"),
               commands.BankAnswer("po_3", "accepted", "B-3"),
               commands.BankAnswer("po_0", "settled", "B-0", SETTLED_AT))  # answered twice
    changed = await bus.handle(commands.ApplyBankAnswers(actor=WORKER, answers=answers))
    assert sorted(changed) == ["po_0", "po_1", "po_2", "po_3"]
    assert (db.commits - commits, db.transfer_batches - batches) == (1, 1)
    assert [payment(db, pid).state for pid in ids] == [
        PaymentState.SETTLED, PaymentState.FAILED, PaymentState.IN_DOUBT, PaymentState.SUBMITTED]
    assert await balances(uows) == figures(1_000_000, 700_000, in_transit=200_000, disbursed=100_000)
    await verified(uows)


async def test_a_payout_request_with_bad_fields_names_every_one_and_stores_nothing(bus, db):
    await open_fund(bus, budget=1_000_000)
    bad = commands.RequestPayout(
        actor=CLAIM_SVC, payout_request_id="po\n1", channel="carrier-pigeon", fund_code="x" * 5000, amount_fen=2**63,
        payee=Payee("\u202e张三", "110105199001011234", b"s" * 10_000),
        references={"Claim Id": "clm_1", "voucher_id": "v" * 1000})
    with nothing_stored(db), pytest.raises(InvalidArgument) as err:
        await bus.handle(bad)
    assert violated_fields(err) == {"payout_request_id", "channel", "fund_code", "amount_fen", "payee.name",
                                    "payee.id_masked", "payee.id_sealed", "references", "references.voucher_id"}
    assert all(len(v.description) < 100 for v in err.value.violations)  # nothing echoed


async def test_a_payout_to_an_institution_needs_no_masked_id(bus, db):
    await open_fund(bus, budget=1_000_000)
    await bus.handle(commands.RequestPayout(
        actor=CLAIM_SVC, payout_request_id=PAYOUT, channel="bank_transfer", fund_code=FUND_CODE, amount_fen=150_000,
        payee=Payee("某职业培训学校", "", b""), references=REFERENCES))
    await commit(bus)
    assert payment(db).state is PaymentState.QUEUED
