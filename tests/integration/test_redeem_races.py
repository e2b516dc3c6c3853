"""Concurrent RedeemVoucher through a real voucher_svc process on SQLite and PostgreSQL: however
many calls race, a voucher is redeemed once and a certificate redeems one voucher (V3), and the
losers get a clear refusal, never INTERNAL. (One person's concurrent redemptions at L1's limit:
tests/integration/test_eligibility_grpc.py.)"""

from __future__ import annotations

import asyncio
import random

import grpc
import pytest
from sqlalchemy import text

from bench import voucher_setup as setup
from skillpay.audit.v1 import audit_pb2
from skillpay.db import Database
from skillpay.voucher.v1 import voucher_pb2 as pb
from skillpay.voucher.v1 import voucher_pb2_grpc
from tests.integration import test_voucher_grpc as voucher_grpc
from tests.integration.test_voucher_grpc import admin_channel

# The real voucher_svc process (and the ledger it asks about funds), as in test_voucher_grpc.
signing_key, issuer, ledger_server = voucher_grpc.signing_key, voucher_grpc.issuer, voucher_grpc.ledger_server
voucher_server, stub = voucher_grpc.voucher_server, voucher_grpc.stub

pytestmark = pytest.mark.integration

CODE = "6-31-01-03"
RACERS = 100
CHANNELS = 8
# What a loser may hear: the state or the certificate no longer allows it, or a lost race that
# could not be settled by retrying. Never INTERNAL, UNKNOWN or a timeout.
CLEAR_REFUSALS = {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED}


def _holders(server, token_issuer) -> setup.Holders:
    return setup.Holders(server.addr, token_issuer, server.lookup_key)


async def _race(addr: str, token_issuer, pairs: list[setup.Redeemable]) -> list[pb.Voucher | grpc.aio.AioRpcError]:
    """RedeemVoucher for every pair at once (each with its own request id), over a few channels."""
    channels = [admin_channel(addr, token_issuer) for _ in range(CHANNELS)]
    try:
        stubs = [voucher_pb2_grpc.VoucherServiceStub(c) for c in channels]
        # Connected first, so the calls reach the server together.
        await asyncio.gather(*(s.GetVoucher(pb.GetVoucherRequest(voucher_id=pairs[0].voucher_id)) for s in stubs))

        async def redeem(i: int, pair: setup.Redeemable):
            try:
                return await stubs[i % CHANNELS].RedeemVoucher(pb.RedeemVoucherRequest(
                    request_id=setup.request_id(), voucher_id=pair.voucher_id, certificate_id=pair.certificate_id),
                    timeout=120)
            except grpc.aio.AioRpcError as exc:
                return exc

        return await asyncio.gather(*(redeem(i, pair) for i, pair in enumerate(pairs)))
    finally:
        for channel in channels:
            await channel.close()


def _split(results) -> tuple[list[pb.Voucher], list[grpc.aio.AioRpcError]]:
    wins = [r for r in results if isinstance(r, pb.Voucher)]
    losses = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    unclear = [(r.code().name, r.details()) for r in losses if r.code() not in CLEAR_REFUSALS]
    assert not unclear, unclear
    return wins, losses


async def _redeemed_events(url: str) -> dict[str, int]:
    """voucher.redeemed events in the outbox, per voucher."""
    db = Database(url)
    try:
        async with db.reader.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT aggregate_id, COUNT(*) AS n FROM outbox WHERE event_type = 'voucher.redeemed' "
                "GROUP BY aggregate_id"))).all()
    finally:
        await db.dispose()
    return {r.aggregate_id: r.n for r in rows}


async def _transitions(client, aggregate_id: str) -> list[audit_pb2.AuditRecord]:
    reply = await client.ListAuditRecords(audit_pb2.ListAuditRecordsRequest(aggregate_id=aggregate_id, page_size=100))
    assert not reply.next_page_token
    return list(reply.records)


@pytest.mark.policy("V3", "V4")
async def test_hundred_concurrent_redemptions_of_one_voucher_redeem_it_once(stub, voucher_server, issuer):
    institution = await setup.catalogue(stub, [CODE])
    [person] = setup.resident_ids(1, random.Random(101))
    pair = await setup.redeemable(stub, _holders(voucher_server, issuer), person, CODE, institution, "ESF",
                                  setup.valid_until())

    wins, losses = _split(await _race(voucher_server.addr, issuer, [pair] * RACERS))

    assert len(wins) == 1 and len(losses) == RACERS - 1
    assert wins[0].state == pb.VOUCHER_STATE_REDEEMED and wins[0].certificate_id == pair.certificate_id
    for loss in losses:
        if loss.code() == grpc.StatusCode.FAILED_PRECONDITION:
            assert "only an enrolled voucher can be redeemed" in loss.details(), loss.details()
    assert await _redeemed_events(voucher_server.url) == {pair.voucher_id: 1}
    redeemed = [r for r in await _transitions(stub, pair.voucher_id) if r.state_after == "redeemed"]
    assert [(r.state_before, r.command) for r in redeemed] == [("enrolled", "RedeemVoucher")]
    certificate = [r for r in await _transitions(stub, pair.certificate_id) if r.state_after == "redeemed"]
    assert [r.state_before for r in certificate] == ["recorded"]
    assert "INTERNAL" not in voucher_server.log.read_text()


@pytest.mark.policy("V3", "L2")
async def test_one_certificate_raced_against_a_hundred_vouchers_of_its_holder_redeems_one(
        stub, voucher_server, issuer):
    # V3 lets a certificate redeem only a voucher of its own occupation and level, so the hundred
    # vouchers share them; the certificate's "already redeemed" check comes before L1-L3 look.
    institution = await setup.catalogue(stub, [CODE])
    [person] = setup.resident_ids(1, random.Random(102))
    until = setup.valid_until()
    vouchers = list(await asyncio.gather(*(setup.issue(stub, person, CODE, "ESF", until) for _ in range(RACERS))))
    await setup.enrol(stub, _holders(voucher_server, issuer), person, vouchers[0], institution)
    certificate = await setup.record_certificate(stub, person, CODE)
    # L4 lets a person have one enrolled voucher at a time; the other 99 are put in the enrolled
    # state directly (as if enrolled before that rule), since the race of redemptions is the point.
    db = Database(voucher_server.url)
    try:
        async with db.writer.begin() as conn:
            await conn.execute(text(
                "UPDATE vouchers SET state = 'enrolled', institution_id = :ins, real_person_verified = :t, "
                "version = version + 1 WHERE voucher_id = :v"),
                [{"ins": institution, "t": True, "v": v} for v in vouchers[1:]])
    finally:
        await db.dispose()

    pairs = [setup.Redeemable(v, certificate) for v in vouchers]
    wins, losses = _split(await _race(voucher_server.addr, issuer, pairs))

    assert len(wins) == 1 and len(losses) == RACERS - 1
    [winner] = wins
    assert winner.certificate_id == certificate
    for loss in losses:
        if loss.code() == grpc.StatusCode.FAILED_PRECONDITION:
            assert "(V3)" in loss.details(), loss.details()
    assert await _redeemed_events(voucher_server.url) == {winner.voucher_id: 1}
    states = {v.voucher_id: v.state for v in (await stub.ListVouchers(pb.ListVouchersRequest(page_size=200))).vouchers}
    assert sorted(states.values()).count(pb.VOUCHER_STATE_REDEEMED) == 1
    assert states[winner.voucher_id] == pb.VOUCHER_STATE_REDEEMED
    certificate_records = [r for r in await _transitions(stub, certificate) if r.state_after == "redeemed"]
    assert len(certificate_records) == 1 and certificate_records[0].request_id
    assert "INTERNAL" not in voucher_server.log.read_text()
