"""A5 across the real stack: a voucher paid at 80% (A3) gets exactly one 20% top-up once the
holder's employment inside the window is recorded, even when the employment is recorded again and
the voucher's events are delivered again under new event ids (a replay the inboxes cannot
recognise: only the derived top-up, line and payout ids can)."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import select

from claim_svc.adapters.tables import metadata as claim_tables
from skillpay.claim.v1 import claim_pb2
from skillpay.cli import sample_data
from skillpay.cli.demo import STANDARD_FEN, prepare, record_employment, redeem_one, wait_paid
from skillpay.clock import shanghai_date, utcnow
from skillpay.db import Database
from skillpay.events.v1 import events_pb2
from skillpay.kafka import VOUCHER_EVENTS
from skillpay.ledger.v1 import ledger_pb2
from skillpay.voucher.v1 import voucher_pb2
from tests.e2e.conftest import assert_ledger_verified, bank_statement, connect
from tests.e2e.test_failed_payouts import claim_of, eventually

pytestmark = pytest.mark.e2e

inbox = claim_tables.tables["inbox"]

VALUE_FEN, TOP_UP_FEN = STANDARD_FEN * 80 // 100, STANDARD_FEN - STANDARD_FEN * 80 // 100


async def _replay_voucher_events(bootstrap: str, aggregate_ids: set[str], event_types: set[str]) -> list[str]:
    """Publish the matching events of the voucher topic again, each under a new event id (returned)."""
    consumer = AIOKafkaConsumer(VOUCHER_EVENTS, bootstrap_servers=bootstrap, group_id=f"replay-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    sent: list[str] = []
    try:
        for _ in range(20):  # a few polls read the little this stack has published
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for m in messages:
                    if dict(m.headers or ()).get("replayed") == b"1":
                        continue  # one of ours, read back
                    envelope = events_pb2.EventEnvelope.FromString(m.value)
                    if envelope.aggregate_id in aggregate_ids and envelope.event_type in event_types:
                        envelope.event_id = str(uuid.uuid4())
                        await producer.send_and_wait(m.topic, envelope.SerializeToString(), key=m.key,
                                                     headers=[*(m.headers or ()), ("replayed", b"1")])
                        sent.append(envelope.event_id)
    finally:
        await consumer.stop()
        await producer.stop()
    return sent


def _database_url(stack, name: str) -> str:
    return stack.database_urls.get(name) or f"sqlite+aiosqlite:///{stack.data_dir / f'{name}.sqlite3'}"


async def _applied(url: str, event_ids: list[str], timeout_s: float = 30) -> set[str]:
    """The event ids among ``event_ids`` the service's consumer has applied (its inbox), once all are or on timeout."""
    db = Database(url)
    try:
        for _ in range(int(timeout_s / 0.2)):
            async with db.reader.connect() as conn:
                rows = await conn.execute(select(inbox.c.event_id).where(inbox.c.event_id.in_(event_ids)))
                seen = {r.event_id for r in rows}
            if seen == set(event_ids):
                break
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()
    return seen


async def _payments_of(clients, claim_id: str) -> list:
    reply = await clients.ledger.ListPayments(ledger_pb2.ListPaymentsRequest(
        page_size=50, reference_key="claim_id", reference_value=claim_id))
    return list(reply.payments)


@pytest.mark.policy("A3", "A5", "C7")
async def test_A5_an_80_percent_payment_gets_one_20_percent_top_up_whatever_is_replayed(stack_factory):
    stack = stack_factory()
    clients = connect(stack)
    try:
        institution = await prepare(clients, "ESF-DEMO", STANDARD_FEN * 2)
        holders: dict[str, tuple[str, str]] = {}
        voucher_id = await redeem_one(clients, institution, "ESF-DEMO", random.Random(31), employed=False,
                                      persons=holders)
        paid = (await wait_paid(clients, [voucher_id], 60))[voucher_id]
        assert (paid.state, paid.value_fen, paid.valuation_rule, paid.rate_percent) == (
            voucher_pb2.VOUCHER_STATE_PAID, VALUE_FEN, "A3", 80)
        resident_id, name = holders[voucher_id]

        # The job is recorded after the payment, inside the window: A5.
        today = shanghai_date(utcnow())
        employer = sample_data.credit_code(random.Random(32))
        record = await record_employment(clients, institution, resident_id, name, today, employer)
        claim = await eventually(lambda: claim_of(clients, voucher_id),
                                 lambda c: c is not None and len(c.lines) == 2
                                 and c.state == claim_pb2.CLAIM_STATE_PAID)
        assert claim.state == claim_pb2.CLAIM_STATE_PAID, claim
        assert [(line.kind, line.amount_fen, line.rule, line.state) for line in claim.lines] == [
            ("voucher_subsidy", VALUE_FEN, "A3", claim_pb2.CLAIM_LINE_STATE_PAID),
            ("top_up", TOP_UP_FEN, "A5", claim_pb2.CLAIM_LINE_STATE_PAID)]
        assert (claim.amount_fen, claim.standard_fen) == (STANDARD_FEN, STANDARD_FEN)

        # The employment recorded again (the same evidence, and another job), and the voucher's
        # events delivered again under new ids.
        again = await record_employment(clients, institution, resident_id, name, today, employer)
        other = await record_employment(clients, institution, resident_id, name, today)  # another employer
        assert again.employment_id == record.employment_id != other.employment_id
        replayed = await _replay_voucher_events(stack.kafka_bootstrap, {voucher_id},
                                                {"voucher.redeemed", "voucher.topped_up"})
        assert len(replayed) == 2
        assert await _applied(_database_url(stack, "claim"), replayed) == set(replayed)  # applied, not skipped

        voucher = await clients.voucher.GetVoucher(voucher_pb2.GetVoucherRequest(voucher_id=voucher_id))
        assert (voucher.state, voucher.value_fen, voucher.topped_up_fen) == (
            voucher_pb2.VOUCHER_STATE_PAID, VALUE_FEN, TOP_UP_FEN)
        assert voucher.payment_id == claim.lines[0].payout_request_id  # the voucher follows its own payment
        claim = await claim_of(clients, voucher_id)
        assert len(claim.lines) == 2 and claim.state == claim_pb2.CLAIM_STATE_PAID
        # The ledger paid the claim exactly twice: the 80% and the 20% top-up.
        payments = await _payments_of(clients, claim.claim_id)
        assert sorted((p.amount_fen, p.state) for p in payments) == sorted([
            (VALUE_FEN, ledger_pb2.PAYMENT_STATE_SETTLED), (TOP_UP_FEN, ledger_pb2.PAYMENT_STATE_SETTLED)])
        assert {p.payment_id for p in payments} == {line.payout_request_id for line in claim.lines}
        settled = [e for e in bank_statement(stack) if e["status"] == "settled"
                   and e["payment_id"] in {p.payment_id for p in payments}]
        assert sorted(e["amount_fen"] for e in settled) == sorted([VALUE_FEN, TOP_UP_FEN])
        fund = await clients.ledger.GetFund(ledger_pb2.GetFundRequest(fund_code="ESF-DEMO"))
        assert (fund.disbursed_fen, fund.payable_fen) == (STANDARD_FEN, 0)
        await assert_ledger_verified(clients)  # VerifyLedger: every account is the sum of its transfers
    finally:
        await clients.close()
