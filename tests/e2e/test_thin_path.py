"""The thin path across real processes: voucher issued, redeemed, claimed, posted, paid."""

from __future__ import annotations

import asyncio
import signal
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from skillpay.claim.v1 import claim_pb2
from skillpay.cli.demo import STANDARD_FEN, prepare, redeem_one, run_batch, wait_paid
from skillpay.kafka import ALL_TOPICS
from skillpay.ledger.v1 import ledger_pb2
from skillpay.voucher.v1 import voucher_pb2
from tests.e2e.conftest import assert_paid_exactly_once, connect

pytestmark = pytest.mark.e2e


@pytest.mark.policy("V3", "V4", "C7", "F2", "F3")
async def test_thin_path_pays_every_voucher_exactly_once(stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    try:
        report = await run_batch(clients, 8, concurrency=4, timeout_s=120)
        await assert_paid_exactly_once(stack, clients, report, 8, STANDARD_FEN)
        # Through the gateway too: one voucher's whole story over HTTP/JSON.
        body = httpx.get(f"{stack.gateway_url}/v1/vouchers/{report.vouchers[0]}", timeout=10).json()
        assert body["voucher"]["state"] == "VOUCHER_STATE_PAID"
        assert body["claims"][0]["state"] == "CLAIM_STATE_PAID"
        assert body["payments"][0]["state"] == "PAYMENT_STATE_SETTLED"
        assert body["payments"][0]["channel"] == "ssc_card"
        assert "*" * 8 in body["voucher"]["holder_id_masked"]
    finally:
        await clients.close()


@pytest.mark.policy("V4")
async def test_status_can_be_read_over_grpc_at_every_step(stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    try:
        institution = await prepare(clients, "ESF-DEMO", STANDARD_FEN)
        import random
        voucher_id = await redeem_one(clients, institution, "ESF-DEMO", random.Random(7))
        voucher = await clients.voucher.GetVoucher(voucher_pb2.GetVoucherRequest(voucher_id=voucher_id))
        assert voucher.state in (voucher_pb2.VOUCHER_STATE_REDEEMED, voucher_pb2.VOUCHER_STATE_PAID)
        assert voucher.value_fen == STANDARD_FEN and voucher.certificate_id
        await wait_paid(clients, [voucher_id], 60)
        claims = await clients.claim.ListClaims(claim_pb2.ListClaimsRequest(voucher_id=voucher_id))
        claim_id = claims.claims[0].claim_id
        for _ in range(100):  # the claim hears of the payment from the same event as the voucher
            claim = await clients.claim.GetClaim(claim_pb2.GetClaimRequest(claim_id=claim_id))
            if claim.state == claim_pb2.CLAIM_STATE_PAID:
                break
            await asyncio.sleep(0.1)
        assert claim.state == claim_pb2.CLAIM_STATE_PAID
        payment = await clients.ledger.GetPayment(ledger_pb2.GetPaymentRequest(payment_id=claim.payment_id))
        voucher = await clients.voucher.GetVoucher(voucher_pb2.GetVoucherRequest(voucher_id=voucher_id))
        assert voucher.state == voucher_pb2.VOUCHER_STATE_PAID and voucher.payment_id == payment.payment_id
        assert payment.state == ledger_pb2.PAYMENT_STATE_SETTLED and payment.bank_ref
        assert (payment.amount_fen, payment.fund_code, payment.references["claim_id"]) == (STANDARD_FEN, "ESF-DEMO",
                                                                                   claim.claim_id)
    finally:
        await clients.close()


async def test_broker_lost_mid_batch_every_voucher_still_paid_once(stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    restarted = asyncio.Event()

    async def restart_broker_once(redeemed: int) -> None:
        if redeemed == 10 and not restarted.is_set():
            restarted.set()
            await asyncio.to_thread(stack.broker.restart)  # memory storage: everything is gone

    try:
        report = await run_batch(clients, 24, concurrency=4, timeout_s=180, on_redeemed=restart_broker_once)
        assert restarted.is_set()
        await assert_paid_exactly_once(stack, clients, report, 24, STANDARD_FEN)
    finally:
        await clients.close()


async def _duplicate_every_event(bootstrap: str, stop: asyncio.Event, counter: list[int]) -> None:
    """Reads every service topic and publishes each message a second time, as it arrives."""
    consumer = AIOKafkaConsumer(*ALL_TOPICS, bootstrap_servers=bootstrap, group_id=f"dup-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False, metadata_max_age_ms=1000)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                for m in messages:
                    if dict(m.headers or ()).get("duplicate") == b"1":
                        continue
                    await producer.send_and_wait(m.topic, m.value, key=m.key,
                                                 headers=[*(m.headers or ()), ("duplicate", b"1")])
                    counter[0] += 1
    finally:
        await consumer.stop()
        await producer.stop()


async def test_every_event_delivered_twice_nothing_applied_twice(stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    stop, duplicated = asyncio.Event(), [0]
    duplicator = asyncio.create_task(_duplicate_every_event(stack.kafka_bootstrap, stop, duplicated))
    try:
        report = await run_batch(clients, 10, concurrency=4, timeout_s=120)
        # voucher.redeemed + claim.approved + payment.settled per voucher, each sent a second time.
        for _ in range(100):
            if duplicated[0] >= 30:
                break
            await asyncio.sleep(0.1)
        assert duplicated[0] >= 30
        await asyncio.sleep(2)  # let the consumers see the duplicates
        report.funds = list((await clients.ledger.ListFunds(ledger_pb2.ListFundsRequest())).funds)
        await assert_paid_exactly_once(stack, clients, report, 10, STANDARD_FEN)
        payments = await clients.ledger.ListPayments(ledger_pb2.ListPaymentsRequest(page_size=100))
        assert len(payments.payments) == 10
        claims = await clients.claim.ListClaims(claim_pb2.ListClaimsRequest(page_size=100))
        assert len(claims.claims) == 10
    finally:
        stop.set()
        await duplicator
        await clients.close()


async def test_ledger_killed_mid_batch_nothing_lost_nothing_paid_twice(stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    killed = asyncio.Event()

    async def kill_ledger_once(redeemed: int) -> None:
        if redeemed == 6 and not killed.is_set():
            killed.set()
            stack.stop_service("ledger", signal.SIGKILL)
            stack.start_service("ledger")

    try:
        report = await run_batch(clients, 16, concurrency=4, timeout_s=180, on_redeemed=kill_ledger_once)
        assert killed.is_set()
        await assert_paid_exactly_once(stack, clients, report, 16, STANDARD_FEN)
    finally:
        await clients.close()


async def test_a_second_demo_run_on_the_same_data_meets_the_repeat_limits_and_draws_other_persons(stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    try:
        first = await run_batch(clients, 4, concurrency=2, timeout_s=120, seed=7)
        # The same seed draws the same persons first: each is refused (L2/L4) and others are drawn.
        second = await run_batch(clients, 4, concurrency=2, timeout_s=120, seed=7)
        assert (first.paid, second.paid) == (4, 4)
        assert not set(first.vouchers) & set(second.vouchers)
    finally:
        await clients.close()
