"""Payouts that fail are surfaced on the claim and on the voucher, and paid once requested again.

Two causes, across real processes: a fund the ledger does not know (the ledger was restored
empty after the voucher was issued, so the issue-time check had passed) and a bank that rejects
the payment (the bank simulator's ``close_accounts`` fault). Either way the payment fails with
its reason, claim_svc shows the claim and its line failed with that reason, voucher_svc shows
the voucher still redeemed (V4) with payout status FAILED and the reason; after the cause is
fixed, RequestPayoutAgain pays it and the voucher shows paid with the reason cleared.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from skillpay.claim.v1 import claim_pb2
from skillpay.cli import sample_data
from skillpay.cli.demo import OCCUPATION_CODE, OCCUPATION_LEVEL, STANDARD_FEN, Clients, prepare, redeem_one
from skillpay.ledger.v1 import ledger_pb2
from skillpay.voucher.v1 import voucher_pb2
from tests.e2e.conftest import assert_ledger_verified, connect
from tests.e2e.test_restore import wipe_database

pytestmark = pytest.mark.e2e


async def eventually(read, ok, timeout_s: float = 60):
    """``read()`` until ``ok(value)``; the last value either way (the assertion after says why)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await read()
        if ok(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def claim_of(clients: Clients, voucher_id: str) -> claim_pb2.Claim | None:
    reply = await clients.claim.ListClaims(claim_pb2.ListClaimsRequest(voucher_id=voucher_id))
    return reply.claims[0] if reply.claims else None


async def voucher(clients: Clients, voucher_id: str) -> voucher_pb2.Voucher:
    return await clients.voucher.GetVoucher(voucher_pb2.GetVoucherRequest(voucher_id=voucher_id))


async def assert_failed_everywhere(clients: Clients, voucher_id: str, reason_part: str) -> claim_pb2.Claim:
    claim = await eventually(lambda: claim_of(clients, voucher_id),
                             lambda c: c is not None and c.state == claim_pb2.CLAIM_STATE_PAYMENT_FAILED)
    assert claim is not None and claim.state == claim_pb2.CLAIM_STATE_PAYMENT_FAILED, claim
    [line] = claim.lines
    assert line.state == claim_pb2.CLAIM_LINE_STATE_PAYMENT_FAILED
    assert reason_part in line.failure_reason and reason_part in claim.failure_reason
    v = await eventually(lambda: voucher(clients, voucher_id),
                         lambda v: v.payout_status == voucher_pb2.PAYOUT_STATUS_FAILED)
    assert (v.state, v.payout_status) == (voucher_pb2.VOUCHER_STATE_REDEEMED, voucher_pb2.PAYOUT_STATUS_FAILED)
    assert reason_part in v.payout_failure_reason
    payment = await clients.ledger.GetPayment(ledger_pb2.GetPaymentRequest(payment_id=line.payout_request_id))
    assert payment.state == ledger_pb2.PAYMENT_STATE_FAILED and reason_part in payment.failure_reason
    return claim


async def pay_again_and_assert_paid(clients: Clients, voucher_id: str, claim: claim_pb2.Claim) -> None:
    again = await clients.claim.RequestPayoutAgain(claim_pb2.RequestPayoutAgainRequest(
        request_id=uuid.uuid4().hex, claim_id=claim.claim_id))
    assert again.lines[0].attempt == 2
    v = await eventually(lambda: voucher(clients, voucher_id), lambda v: v.state == voucher_pb2.VOUCHER_STATE_PAID)
    assert (v.state, v.payout_status, v.payout_failure_reason) == (
        voucher_pb2.VOUCHER_STATE_PAID, voucher_pb2.PAYOUT_STATUS_PAID, "")
    assert v.payment_id == again.lines[0].payout_request_id
    paid = await eventually(lambda: claim_of(clients, voucher_id), lambda c: c.state == claim_pb2.CLAIM_STATE_PAID)
    assert paid.state == claim_pb2.CLAIM_STATE_PAID and paid.failure_reason == ""


async def issue(clients: Clients, fund_code: str) -> voucher_pb2.Voucher:
    valid_until = Timestamp()
    valid_until.FromDatetime(datetime.now(timezone.utc) + timedelta(days=30))
    return await clients.voucher.IssueVoucher(voucher_pb2.IssueVoucherRequest(
        request_id=uuid.uuid4().hex, resident_id=sample_data.resident_id(random.Random(10)), name="张三",
        occupation_code=OCCUPATION_CODE, level=OCCUPATION_LEVEL, fund_source=fund_code, batch_id="b1",
        valid_until=valid_until))


@pytest.mark.policy("F1", "V4")
async def test_a_payout_from_a_fund_the_ledger_does_not_know_fails_visibly_and_is_paid_once_the_fund_is_open(
        stack_factory):
    # A payout waits this long for finance to open a fund the ledger does not know, then fails.
    stack = stack_factory(extra_env={"LEDGER_UNKNOWN_FUND_HOLD_S": "2"})
    clients = connect(stack)
    try:
        institution = await prepare(clients, "ESF-GONE", STANDARD_FEN * 4)
        await issue(clients, "ESF-GONE")  # the voucher service has seen the fund open (and remembers it)
        # The ledger is restored empty: it no longer knows the fund the voucher service saw open.
        await asyncio.to_thread(stack.stop_service, "ledger")
        await asyncio.to_thread(wipe_database, stack, "ledger")
        stack.start_service("ledger")
        await asyncio.to_thread(stack.wait_ready, 60, ["ledger"])
        voucher_id = await redeem_one(clients, institution, "ESF-GONE", random.Random(11))

        claim = await assert_failed_everywhere(clients, voucher_id, "unknown fund ESF-GONE")

        await prepare(clients, "ESF-GONE", STANDARD_FEN * 4)  # finance opens the fund again, with budget
        await pay_again_and_assert_paid(clients, voucher_id, claim)
    finally:
        await clients.close()


@pytest.mark.policy("V4", "C7")
async def test_a_payout_the_bank_rejects_shows_its_reason_on_the_voucher_and_is_paid_when_requested_again(
        stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    try:
        institution = await prepare(clients, "ESF-DEMO", STANDARD_FEN * 4)
        reply = httpx.post(f"{stack.bank_url}/v1/_faults", json={"close_accounts": True}, timeout=10)
        assert reply.status_code == 200
        voucher_id = await redeem_one(clients, institution, "ESF-DEMO", random.Random(12))

        claim = await assert_failed_everywhere(clients, voucher_id, "account_closed")

        httpx.post(f"{stack.bank_url}/v1/_faults", json={"close_accounts": False}, timeout=10).raise_for_status()
        await pay_again_and_assert_paid(clients, voucher_id, claim)
        # the money went out once: the failed attempt's commitment was released
        fund = await clients.ledger.GetFund(ledger_pb2.GetFundRequest(fund_code="ESF-DEMO"))
        assert (fund.disbursed_fen, fund.payable_fen) == (STANDARD_FEN, 0)
        await assert_ledger_verified(clients)  # VerifyLedger: every account is the sum of its transfers
    finally:
        await clients.close()
