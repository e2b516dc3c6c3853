"""CreateTransfers, LookupAccounts, GetAccountHistory, GetBalancesAsOf and VerifyLedger against a real
ledger process (SQLite and PostgreSQL), and `skillpay ledger verify` against it (F1-F3, X2)."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from skillpay.actors import ActorKind
from skillpay.audit.v1 import audit_pb2
from skillpay.auth import Identity, TokenIssuer, authenticated_channel
from skillpay.ledger.v1 import ledger_pb2 as lp
from skillpay.ledger.v1 import ledger_pb2_grpc
from tests.integration.ledger_process import ledger_cli, ledger_stub, start_ledger
from tests.integration.test_voucher_grpc import violations

pytestmark = pytest.mark.integration
R = lp.TransferResult


@pytest.fixture
def ledger(database_url_factory, tmp_path, signing_key):
    key = base64.b64encode(os.urandom(32)).decode()
    process = start_ledger(tmp_path / "ledger", database_url_factory("l"), signing_key, key, key, funds=("ESF", "UIF"))
    yield process
    process.stop()


def _t(tid, debit, credit, amount, code=lp.TRANSFER_CODE_CORRECTION, ledger="ESF", **kw):
    return lp.Transfer(id=tid, debit_account_id=f"{ledger}:{debit}" if debit else "",
                       credit_account_id=f"{ledger}:{credit}" if credit else "", amount=amount,
                       ledger=ledger if debit else "", code=code, **kw)


def _results(reply) -> list[int]:
    assert [e.index for e in reply.results] == list(range(len(reply.results)))
    return [e.result for e in reply.results]


@pytest.mark.policy("F1", "F2", "F3")
async def test_create_transfers_two_phase_retries_and_queries_through_grpc(ledger, signing_key):
    channel, stub = ledger_stub(ledger, signing_key)
    try:
        reply = await stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[
            _t("alloc-1", "appropriation", "available", 10_000, lp.TRANSFER_CODE_ALLOCATION),
            _t("commit-1", "available", "payables", 3_000, lp.TRANSFER_CODE_COMMITMENT, pending=True,
               user_data="pay_1"),
            _t("commit-2", "available", "payables", 7_001, lp.TRANSFER_CODE_COMMITMENT, pending=True),  # 1 fen over
            # F2: a fund never pays for another.
            lp.Transfer(id="cross-1", debit_account_id="UIF:appropriation", credit_account_id="ESF:available",
                        amount=5, ledger="ESF", code=lp.TRANSFER_CODE_ALLOCATION),
            _t("open-1", "appropriation", "returned", 1, linked=True),  # a chain left open at the end
        ]))
        assert _results(reply) == [R.Value("TRANSFER_RESULT_OK"), R.Value("TRANSFER_RESULT_OK"),
                                   R.Value("TRANSFER_RESULT_EXCEEDS_CREDITS"),
                                   R.Value("TRANSFER_RESULT_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER"),
                                   R.Value("TRANSFER_RESULT_LINKED_EVENT_CHAIN_OPEN")]
        assert reply.results[2].result_name == "exceeds_credits"
        before_post = datetime.now(UTC)
        await asyncio.sleep(0.05)
        reply = await stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[
            _t("post-1", "", "", 2_000, lp.TRANSFER_CODE_SUBMISSION, post_pending_transfer=True, pending_id="commit-1",
               linked=True),
            _t("submit-1", "payables", "clearing", 2_000, lp.TRANSFER_CODE_SUBMISSION),
            _t("alloc-1", "appropriation", "available", 10_000, lp.TRANSFER_CODE_ALLOCATION),  # a retry
            _t("alloc-1", "appropriation", "available", 10_001, lp.TRANSFER_CODE_ALLOCATION),  # not the same
        ]))
        assert _results(reply) == [R.Value("TRANSFER_RESULT_OK"), R.Value("TRANSFER_RESULT_OK"),
                                   R.Value("TRANSFER_RESULT_EXISTS"),
                                   R.Value("TRANSFER_RESULT_EXISTS_WITH_DIFFERENT_FIELDS")]

        accounts = {a.role: a for a in (await stub.LookupAccounts(lp.LookupAccountsRequest(
            account_ids=["ESF:available", "ESF:payables", "ESF:clearing", "ESF:nope"]))).accounts}
        assert set(accounts) == {"available", "payables", "clearing"}
        assert (accounts["available"].credits_posted, accounts["available"].debits_posted,
                accounts["available"].debits_pending) == (10_000, 2_000, 0)
        assert accounts["available"].debits_must_not_exceed_credits
        assert (accounts["payables"].credits_posted, accounts["payables"].debits_posted) == (2_000, 2_000)
        assert accounts["clearing"].credits_posted == 2_000

        first = await stub.GetAccountHistory(lp.GetAccountHistoryRequest(account_id="ESF:available", page_size=2))
        rest = await stub.GetAccountHistory(lp.GetAccountHistoryRequest(account_id="ESF:available", page_size=2,
                                                                         page_token=first.next_page_token))
        assert [t.id for t in first.transfers] == ["alloc-1", "commit-1"]
        assert [t.id for t in rest.transfers] == ["post-1"] and not rest.next_page_token
        assert first.transfers[1].pending and first.transfers[1].user_data == "pay_1"
        assert rest.transfers[0].amount == 2_000 and rest.transfers[0].debit_account_id == "ESF:available"
        assert first.transfers[0].sequence < first.transfers[1].sequence < rest.transfers[0].sequence
        with pytest.raises(grpc.aio.AioRpcError) as foreign:  # a token of one account's history is not another's
            await stub.GetAccountHistory(lp.GetAccountHistoryRequest(account_id="ESF:payables",
                                                                     page_token=first.next_page_token))
        assert foreign.value.code() is grpc.StatusCode.INVALID_ARGUMENT

        as_of = Timestamp()
        as_of.FromDatetime(before_post)
        then = (await stub.GetBalancesAsOf(lp.GetBalancesAsOfRequest(account_ids=["ESF:available"],
                                                                     as_of=as_of))).balances
        assert [(b.account_id, b.debits_pending, b.debits_posted, b.credits_posted) for b in then] == [
            ("ESF:available", 3_000, 0, 10_000)]

        verified = await stub.VerifyLedger(lp.VerifyLedgerRequest())
        assert list(verified.differences) == []
        assert verified.accounts_checked == 14 and verified.transfers_checked == 4
    finally:
        await channel.close()


async def test_malformed_transfers_are_invalid_argument_naming_each_field_and_change_nothing(ledger, signing_key):
    channel, stub = ledger_stub(ledger, signing_key)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[
                _t("ok-1", "appropriation", "available", 5, lp.TRANSFER_CODE_ALLOCATION),
                _t("bad-1", "appropriation", "available", -1, lp.TRANSFER_CODE_ALLOCATION),
                _t("bad 2 x", "appropriation", "available", 1, 0, user_data="x" * 101),
            ]))
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(refused.value)) == {"transfers[1].amount", "transfers[2].id", "transfers[2].code",
                                                 "transfers[2].user_data"}
        assert "x" * 101 not in refused.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await stub.CreateTransfers(lp.CreateTransfersRequest())
        assert set(violations(empty.value)) == {"transfers"}
        with pytest.raises(grpc.aio.AioRpcError) as too_many:
            await stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[
                _t(f"m-{i}", "appropriation", "available", 1) for i in range(8191)]))
        assert set(violations(too_many.value)) == {"transfers"}
        accounts = (await stub.LookupAccounts(lp.LookupAccountsRequest(account_ids=["ESF:available"]))).accounts
        assert accounts[0].credits_posted == 0  # the valid transfer of a refused request was not applied
    finally:
        await channel.close()
    for kind in (ActorKind.PERSON, ActorKind.INSTITUTION, ActorKind.REVIEWER):
        channel, stub = ledger_stub(ledger, signing_key, kind)
        try:
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[
                    _t("x-1", "appropriation", "available", 5, lp.TRANSFER_CODE_ALLOCATION)]))
            assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
            if kind is not ActorKind.REVIEWER:
                with pytest.raises(grpc.aio.AioRpcError) as denied:
                    await stub.VerifyLedger(lp.VerifyLedgerRequest())
                assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
        finally:
            await channel.close()


async def test_concurrent_calls_are_group_committed_with_exact_totals(ledger, signing_key):
    channel, stub = ledger_stub(ledger, signing_key)
    try:
        await stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[
            _t("budget", "appropriation", "available", 100, lp.TRANSFER_CODE_ALLOCATION)]))
        replies = await asyncio.gather(*(stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[
            _t(f"hot-{i}-{k}", "available", "payables", 1, lp.TRANSFER_CODE_COMMITMENT) for k in range(2)]))
            for i in range(64)))
        results = [r for reply in replies for r in _results(reply)]
        assert results.count(R.Value("TRANSFER_RESULT_OK")) == 100
        assert results.count(R.Value("TRANSFER_RESULT_EXCEEDS_CREDITS")) == 28
        accounts = (await stub.LookupAccounts(lp.LookupAccountsRequest(account_ids=["ESF:available"]))).accounts
        assert accounts[0].debits_posted == 100
    finally:
        await channel.close()


def _cli_verify(ledger, signing_key, tmp_path) -> subprocess.CompletedProcess:
    return ledger_cli(ledger, signing_key, tmp_path, "verify", timeout=120)


@pytest.mark.policy("X2")
async def test_verify_ledger_and_the_cli_report_a_tampered_account(ledger, signing_key, tmp_path):
    channel, stub = ledger_stub(ledger, signing_key)
    try:
        await stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[
            _t("alloc-1", "appropriation", "available", 500, lp.TRANSFER_CODE_ALLOCATION)]))
        clean = await asyncio.to_thread(_cli_verify, ledger, signing_key, tmp_path)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert "Checked 14 accounts and 1 transfers" in clean.stdout
        engine = create_async_engine(ledger.url)
        try:
            async with engine.begin() as conn:  # someone with database access changes a total
                await conn.execute(text("UPDATE ledger_accounts SET credits_posted = credits_posted + 7 "
                                        "WHERE id = 'ESF:available'"))
        finally:
            await engine.dispose()
        verified = await stub.VerifyLedger(lp.VerifyLedgerRequest())
        assert [(d.account_id, d.stored.credits_posted, d.recomputed.credits_posted) for d in verified.differences] \
            == [("ESF:available", 507, 500)]
        tampered = await asyncio.to_thread(_cli_verify, ledger, signing_key, tmp_path)
        assert tampered.returncode == 1, tampered.stdout + tampered.stderr
        assert "ESF:available" in tampered.stdout and "507" in tampered.stdout and "500" in tampered.stdout
    finally:
        await channel.close()


async def test_balances_as_of_needs_a_valid_instant(ledger, signing_key):
    channel, stub = ledger_stub(ledger, signing_key)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetBalancesAsOf(lp.GetBalancesAsOfRequest(account_ids=["ESF:available"]))
        assert set(violations(missing.value)) == {"as_of"}
        with pytest.raises(grpc.aio.AioRpcError) as bad_ids:
            await stub.GetBalancesAsOf(lp.GetBalancesAsOfRequest(
                account_ids=["ESF:available", "bad id"], as_of=Timestamp(seconds=10**12)))
        assert set(violations(bad_ids.value)) == {"account_ids[1]", "as_of"}
        now = Timestamp()
        now.FromDatetime(datetime.now(UTC) + timedelta(days=1))
        fine = await stub.GetBalancesAsOf(lp.GetBalancesAsOfRequest(account_ids=["ESF:available"], as_of=now))
        assert [b.account_id for b in fine.balances] == ["ESF:available"]
    finally:
        await channel.close()


@pytest.mark.policy("X2")
async def test_the_finance_caller_who_posted_a_correction_is_on_its_audit_record(ledger, signing_key):
    """ListAuditRecords of a transfer's id names who created it, with the request id the ledger logged
    the call under; a retry adds no record, a refused transfer has none."""
    channel = authenticated_channel(ledger.addr, Identity(TokenIssuer(signing_key), ActorKind.FINANCE, "finance-alice"))
    stub = ledger_pb2_grpc.LedgerServiceStub(channel)
    request = lp.CreateTransfersRequest(transfers=[
        _t("alloc-9", "appropriation", "available", 900, lp.TRANSFER_CODE_ALLOCATION),
        _t("corr-9", "available", "appropriation", 100),  # a correction: part of the allocation back
        _t("corr-over", "available", "payables", 10_000),  # refused: more than the fund holds
    ])
    try:
        assert _results(await stub.CreateTransfers(request)) == [
            R.Value("TRANSFER_RESULT_OK"), R.Value("TRANSFER_RESULT_OK"), R.Value("TRANSFER_RESULT_EXCEEDS_CREDITS")]
        assert _results(await stub.CreateTransfers(request))[:2] == [R.Value("TRANSFER_RESULT_EXISTS")] * 2
        trails = {i: list((await stub.ListAuditRecords(audit_pb2.ListAuditRecordsRequest(aggregate_id=i))).records)
                  for i in ("alloc-9", "corr-9", "corr-over")}
    finally:
        await channel.close()
    assert trails["corr-over"] == []
    [alloc], [correction] = trails["alloc-9"], trails["corr-9"]
    assert (correction.actor_kind, correction.actor_subject, correction.command, correction.aggregate_type,
            correction.aggregate_id, correction.state_before, correction.state_after) == (
        "finance", "finance-alice", "CreateTransfers", "transfer", "corr-9", "", "posted")
    assert correction.request_id and correction.request_id == alloc.request_id  # one call, one request id
    logged = [line for line in ledger.log.read_text().splitlines() if "CreateTransfers" in line]
    assert sum(f"request_id={correction.request_id}" in line for line in logged) == 1
