"""1,000 payouts through the bank simulator with rejections, timeouts after acceptance and answers
given twice, once undisturbed and once with the ledger SIGKILLed in the middle (F2, F3, C7, X2).

Real processes: the broker, the ledger and the bank simulator. The payout requests arrive as
claim_svc would send them (``payout.requested`` events on the claim topic), so the ledger's
consumer, its payout worker, the HTTP adapters and the bank all run as in production. The faults
are aimed at chosen payouts (the bank's fault plan by payment id), so the test knows exactly which
must fail: every payout ends settled or failed with the bank's reason, the rejected ones and only
they fail, none is paid twice, the bank's statement reconciles with the ledger, and the ledger's
stored balances equal the sums of its transfers.
"""

from __future__ import annotations

import asyncio
import base64
import random
import signal
import time
from datetime import timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from google.type import date_pb2

from skillpay.actors import ActorKind
from skillpay.auth import Identity, authenticated_channel
from skillpay.cli import sample_data
from skillpay.clock import shanghai_date, utcnow
from skillpay.events.v1 import events_pb2
from skillpay.ids import derived_id, new_id
from skillpay.kafka import CLAIM_EVENTS, ensure_topics
from skillpay.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from skillpay.messaging import to_timestamp
from skillpay.pii import PiiVault, mask_resident_id
from tests.e2e.conftest import bank_statement

pytestmark = pytest.mark.e2e

COUNT = 1_000
FUND = "ESF-E2E"
REJECT_REASON = "account_frozen"
SETTLED = ledger_pb2.PAYMENT_STATE_SETTLED
FAILED = ledger_pb2.PAYMENT_STATE_FAILED


def payout_id(i: int) -> str:
    return derived_id("po", "e2e-payout-faults", i)


def fault_plan(ids: list[str], rng: random.Random) -> tuple[dict, set[str], set[str], set[str]]:
    """10 % rejected, 5 % timed out after acceptance, 2 % answered twice: disjoint, chosen by id,
    so the test knows each payout's fate (a payment rejected AND held would never be answered)."""
    shuffled = ids[:]
    rng.shuffle(shuffled)
    rejected = set(shuffled[:COUNT // 10])
    timed_out = set(shuffled[COUNT // 10: COUNT // 10 + COUNT // 20])
    twice = set(shuffled[COUNT // 10 + COUNT // 20: COUNT // 10 + COUNT // 20 + COUNT // 50])
    plan = {"seed": 1, "rules": [
        {"mode": "reject", "payment_ids": sorted(rejected), "reason": REJECT_REASON},
        # Held longer than the ledger waits (LEDGER_BANK_TIMEOUT_S below): the ledger never hears.
        {"mode": "timeout", "payment_ids": sorted(timed_out), "hold_ms": 3_000},
        {"mode": "duplicate", "payment_ids": sorted(twice)},
    ]}
    return plan, rejected, timed_out, twice


def payout_event(i: int, vault: PiiVault, rng: random.Random, amount_fen: int) -> events_pb2.EventEnvelope:
    resident_id = sample_data.resident_id(rng)
    line_id = derived_id("cln", "e2e-payout-faults", i)
    claim_id = derived_id("clm", "e2e-payout-faults", i)
    requested = events_pb2.PayoutRequested(
        payout_request_id=payout_id(i), claim_id=claim_id, claim_line_id=line_id, line_kind="voucher_subsidy",
        attempt=1,
        payee=events_pb2.PersonRef(name=sample_data.person_name(rng), id_masked=mask_resident_id(resident_id),
                                   id_sealed=vault.seal(resident_id), id_lookup=vault.lookup_hash(resident_id)),
        channel="ssc_card", amount_fen=amount_fen, fund_source=FUND,
        references={"claim_id": claim_id, "claim_line_id": line_id}, requested_at=to_timestamp(utcnow()))
    return events_pb2.EventEnvelope(
        event_id=new_id("evt"), event_type="payout.requested", aggregate_id=claim_id,
        occurred_at=to_timestamp(utcnow()), producer="claim", payload=requested.SerializeToString())


async def publish(bootstrap: str, envelopes: list[events_pb2.EventEnvelope]) -> None:
    await ensure_topics(bootstrap, [CLAIM_EVENTS], partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for e in envelopes:
            await producer.send(CLAIM_EVENTS, e.SerializeToString(), key=e.aggregate_id.encode(),
                                headers=[("event_type", e.event_type.encode()), ("event_id", e.event_id.encode())])
        await producer.flush()
    finally:
        await producer.stop()


async def all_payments(ledger) -> list:
    payments, token = [], ""
    while True:
        reply = await ledger.ListPayments(ledger_pb2.ListPaymentsRequest(page_size=500, page_token=token))
        payments += list(reply.payments)
        token = reply.next_page_token
        if not token:
            return payments


async def until_all_final(ledger, timeout_s: float) -> list:
    deadline = time.monotonic() + timeout_s
    while True:
        payments = await all_payments(ledger)
        if len(payments) == COUNT and all(p.state in (SETTLED, FAILED) for p in payments):
            return payments
        if time.monotonic() > deadline:
            states = {}
            for p in payments:
                states[ledger_pb2.PaymentState.Name(p.state)] = states.get(ledger_pb2.PaymentState.Name(p.state), 0) + 1
            raise AssertionError(f"{len(payments)} payments, not all final after {timeout_s} s: {states}")
        await asyncio.sleep(0.5)


async def until_count(ledger, settled_at_least: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum(p.state == SETTLED for p in await all_payments(ledger)) >= settled_at_least:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"fewer than {settled_at_least} payments settled after {timeout_s} s")


@pytest.mark.policy("F2", "F3", "C7", "X2")
@pytest.mark.parametrize("kill_ledger", [False, True], ids=["undisturbed", "ledger-sigkilled"])
async def test_a_thousand_payouts_through_a_faulty_bank_each_end_once(stack_factory, kill_ledger):
    rng = random.Random(20261206)
    stack = stack_factory(start=False, extra_env={"LEDGER_BANK_TIMEOUT_S": "1", "BANK_SIM_SETTLE_DELAY_MS": "50"})
    stack.parts = ("bank", "ledger")
    stack.start()
    keys = stack._shared_keys()
    vault = PiiVault(base64.b64decode(keys["SKILLPAY_PII_KEY"]), base64.b64decode(keys["SKILLPAY_LOOKUP_KEY"]))
    channel = authenticated_channel(stack.addr("ledger"), Identity(stack.token_issuer(), ActorKind.FINANCE, "e2e"))
    ledger = ledger_pb2_grpc.LedgerServiceStub(channel)
    try:
        amounts = [rng.randrange(100, 200_001) for _ in range(COUNT)]
        await ledger.OpenFund(ledger_pb2.OpenFundRequest(
            fund_code=FUND, name="employment subsidy (e2e)", fund_type=ledger_pb2.FUND_TYPE_EMPLOYMENT_SUBSIDY,
            request_id="open-e2e"))
        await ledger.AllocateBudget(ledger_pb2.AllocateBudgetRequest(fund_code=FUND, amount_fen=sum(amounts) * 2,
                                                                     request_id="budget-e2e"))
        ids = [payout_id(i) for i in range(COUNT)]
        plan, rejected, timed_out, twice = fault_plan(ids, rng)
        httpx.post(f"{stack.bank_url}/v1/_fault_plan", json=plan, timeout=10).raise_for_status()

        await publish(stack.kafka_bootstrap, [payout_event(i, vault, rng, amounts[i]) for i in range(COUNT)])
        if kill_ledger:
            await until_count(ledger, COUNT // 4, timeout_s=240)
            assert stack.stop_service("ledger", signal.SIGKILL) == -signal.SIGKILL
            stack.start_service("ledger")
            stack.wait_ready(60, services=("ledger",))
        payments = await until_all_final(ledger, timeout_s=600)

        # Every payout ended: the rejected ones failed with the bank's reason, the rest settled,
        # the timed-out ones resolved by asking the bank (never by paying them under a new id).
        by_id = {p.payment_id: p for p in payments}
        assert set(by_id) == set(ids)
        failed = {i for i, p in by_id.items() if p.state == FAILED}
        assert failed == rejected
        assert all(REJECT_REASON in by_id[i].failure_reason for i in failed)
        assert all(by_id[i].state == SETTLED for i in timed_out | twice)

        # None paid twice: the bank's statement holds each settled payout once, for its amount.
        lines = [e for e in bank_statement(stack) if e["status"] == "settled" and e["fund_source"] == FUND]
        paid = [line["payment_id"] for line in lines]
        assert len(paid) == len(set(paid)) == COUNT - len(rejected)
        assert set(paid) == set(ids) - rejected
        amount_of = dict(zip(ids, amounts))
        assert all(line["amount_fen"] == amount_of[line["payment_id"]] for line in lines)

        # The ledger agrees with the bank, and its books hold.
        fund = await ledger.GetFund(ledger_pb2.GetFundRequest(fund_code=FUND))
        assert fund.disbursed_fen == sum(line["amount_fen"] for line in lines)
        verify = await ledger.VerifyLedger(ledger_pb2.VerifyLedgerRequest())
        assert list(verify.differences) == []
        trial = await ledger.GetTrialBalance(ledger_pb2.GetTrialBalanceRequest())
        assert trial.balanced and not trial.differences

        # The bank's statement reconciles with zero unexplained differences, day by day (a run
        # may straddle a Shanghai midnight: both days are asked).
        matched = 0
        today = shanghai_date(utcnow())
        for day in (today - timedelta(days=1), today):
            report = await ledger.ReconcileFromBank(ledger_pb2.ReconcileFromBankRequest(
                request_id=f"reconcile-{day}", fund_code=FUND,
                day=date_pb2.Date(year=day.year, month=day.month, day=day.day)))
            assert report.unexplained_count == 0, list(report.unexplained)[:5]
            matched += next(c.count for c in report.summary if c.category == "matched")
        assert matched == COUNT - len(rejected)
    finally:
        await channel.close()
