"""GetTrialBalance, GetFundStatement, GetFundChart, ReconcileStatement and ReconcileFromBank against a
real ledger process (SQLite and PostgreSQL), and `skillpay ledger trial-balance | statement |
reconcile` against it (issue 8; F1-F3, C7, C8, X2).

The ledger's data is written first by the real handlers in this process with a fixed clock (so
transfers fall on both sides of a Shanghai midnight, and payouts are in every state), then the
ledger process is started on the same database and asked over gRPC.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import functools
import io
import os
import uuid
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from google.type import date_pb2
from openpyxl import load_workbook

from bench.statements import line, write_csv
from ledger_svc.bootstrap import bootstrap
from ledger_svc.domain.model import Payee
from ledger_svc.domain.reconciliation import CRDT
from ledger_svc.domain.transfers import Transfer, TransferCode, TransferFlags
from ledger_svc.service_layer import commands
from ledger_svc.service_layer.transfer_batcher import TransferBatcher
from skillpay.actors import ActorKind, service_actor
from skillpay.clock import SHANGHAI, FixedClock
from skillpay.ledger.v1 import ledger_pb2 as lp
from tests.integration.ledger_process import ledger_cli, ledger_stub, start_ledger
from tests.integration.ledger_support import (
    FINANCE,
    LEDGER,
    migrated_database,
    open_fund,
    payout_in_state,
    sql_uow_factory,
    statement_bytes,
)
from tests.integration.test_voucher_grpc import violations

pytestmark = pytest.mark.integration
DAY1, DAY2 = date(2025, 6, 1), date(2025, 6, 2)
# The last microsecond of 1 June and the first of 2 June, Shanghai time.
BEFORE_MIDNIGHT = datetime(2025, 6, 1, 23, 59, 59, 999_999, tzinfo=SHANGHAI)
MIDNIGHT = datetime(2025, 6, 2, 0, 0, tzinfo=SHANGHAI)
RECON_NOW = datetime(2026, 5, 6, 7, 8, tzinfo=UTC)  # 15:08 in Shanghai
RECON_DAY = date(2026, 5, 6)
MAX_UPLOAD = 64 * 1024


def _pb_day(d: date) -> date_pb2.Date:
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def _t(tid: str, debit: str, credit: str, amount: int, code: TransferCode, flags=TransferFlags.NONE,
       pending_id: str = "", fund: str = "STF") -> Transfer:
    return Transfer(tid, f"{fund}:{debit}" if debit else "", f"{fund}:{credit}" if credit else "",
                    amount, fund if debit else "", code, flags, pending_id)


async def _seed(url: str) -> None:
    """Fund STF: allocation and a commitment on 1 June, its post and submission at the last
    microsecond of 1 June, its settlement at midnight (2 June). Fund ESF: payouts in every state
    for the reconciliation of RECON_DAY."""
    db = await migrated_database(url)
    clock = FixedClock(datetime(2025, 6, 1, 10, 0, tzinfo=SHANGHAI))
    uow_factory = sql_uow_factory(db, clock)
    batcher = TransferBatcher(uow_factory, clock)
    bus = bootstrap(uow_factory, clock, batcher=batcher)
    try:
        for code in ("STF", "ESF", "UIF"):
            await open_fund(bus, code)
        ok = ["ok"]
        assert [r.value for r in await batcher.submit([
            _t("alloc-1", "appropriation", "available", 100_000, TransferCode.ALLOCATION),
            _t("commit-1", "available", "payables", 30_000, TransferCode.COMMITMENT, TransferFlags.PENDING),
            _t("commit-2", "available", "payables", 5_000, TransferCode.COMMITMENT, TransferFlags.PENDING),
        ], FINANCE)] == ok * 3
        clock.advance(BEFORE_MIDNIGHT - clock.now())
        assert [r.value for r in await batcher.submit([
            _t("post-1", "", "", 30_000, TransferCode.SUBMISSION, TransferFlags.POST_PENDING_TRANSFER,
               pending_id="commit-1"),
            _t("submit-1", "payables", "clearing", 30_000, TransferCode.SUBMISSION),
        ], FINANCE)] == ok * 2
        clock.advance(MIDNIGHT - clock.now())
        assert [r.value for r in await batcher.submit([
            _t("settle-1", "clearing", "disbursed", 30_000, TransferCode.SETTLEMENT),
            _t("void-2", "", "", 0, TransferCode.RELEASE, TransferFlags.VOID_PENDING_TRANSFER, pending_id="commit-2"),
        ], FINANCE)] == ok * 2

        clock.advance(RECON_NOW - clock.now())
        for code in ("ESF", "UIF"):
            await bus.handle(commands.AllocateBudget(actor=FINANCE.for_request(uuid.uuid4().hex), fund_code=code,
                                                     amount_fen=1_000_000))
        for pid, amount, state, fund in [("po_doubt", 2_000, "in_doubt", "ESF"), ("po_sub", 3_000, "submitted", "ESF"),
                                         ("po_settled", 4_000, "settled", "ESF"), ("po_off", 2_000, "in_doubt", "ESF"),
                                         ("po_missing", 2_500, "in_doubt", "ESF"), ("po_uif", 900, "in_doubt", "UIF"),
                                         ("po_failed", 1_500, "failed", "ESF")]:
            await payout_in_state(bus, pid, amount, state, fund, settled_at=RECON_NOW)
        # A payout settled yesterday, returned today.
        await bus.handle(commands.RequestPayout(
            actor=service_actor("claim"), payout_request_id="po_old", channel="ssc_card", fund_code="ESF",
            amount_fen=5_000, payee=Payee("李四", "110105********4321", b"sealed")))
        await bus.handle(commands.CommitFunds(actor=LEDGER, payment_ids=("po_old",)))
        await bus.handle(commands.StartSubmission(actor=LEDGER, payment_ids=("po_old",)))
        await bus.handle(commands.ApplyBankStatus(actor=LEDGER, payment_id="po_old", state="settled", bank_ref="Bold",
                                                  settled_at=RECON_NOW - timedelta(days=1)))
    finally:
        await batcher.close()
        await db.dispose()


@pytest.fixture
def ledger(database_url_factory, tmp_path, signing_key, monkeypatch):
    url = database_url_factory("l")
    asyncio.run(_seed(url))
    # No bank: the payout worker and ReconcileFromBank find nobody listening; a small upload bound.
    monkeypatch.setenv("LEDGER_BANK_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LEDGER_STATEMENT_MAX_BYTES", str(MAX_UPLOAD))
    # The seeded events (stamped in 2025 and 2026 by the fixed clock) wait in the outbox (no broker).
    monkeypatch.setenv("SKILLPAY_READY_MAX_OUTBOX_AGE_S", str(10**11))
    key = base64.b64encode(os.urandom(32)).decode()
    process = start_ledger(tmp_path / "ledger", url, signing_key, key, key, funds=())
    yield process
    process.stop()


async def _statement(stub, first: date, last: date, fmt=lp.REPORT_FORMAT_UNSPECIFIED, fund="STF"):
    figures, files = None, {}
    async for part in stub.GetFundStatement(lp.GetFundStatementRequest(
            fund_code=fund, from_day=_pb_day(first), to_day=_pb_day(last), format=fmt)):
        if part.WhichOneof("part") == "statement":
            assert figures is None and not files  # the figures come first, once
            figures = part.statement
        else:
            files.setdefault(part.chunk.file_name, bytearray()).extend(part.chunk.data)
    return figures, {name: bytes(data) for name, data in files.items()}


@pytest.mark.policy("F1", "F2", "F3", "C8")
async def test_trial_balance_statements_across_a_shanghai_midnight_files_and_chart(ledger, signing_key):
    channel, stub = ledger_stub(ledger, signing_key)
    try:
        tb = await stub.GetTrialBalance(lp.GetTrialBalanceRequest())
        assert tb.balanced and not tb.differences
        assert [f.ledger for f in tb.funds] == ["ESF", "STF", "UIF"]
        stf = next(f for f in tb.funds if f.ledger == "STF")
        assert (stf.debits_posted, stf.credits_posted, stf.debits_pending) == (190_000, 190_000, 0)
        assert tb.overall.ledger == "" and tb.overall.balanced
        lines = {a.account_id: a for a in tb.accounts}
        assert lines["STF:disbursed"].balance == 30_000 and lines["STF:available"].balance == 70_000

        # After CreateTransfers through the RPC, the trial balance still holds and shows them.
        reply = await stub.CreateTransfers(lp.CreateTransfersRequest(transfers=[lp.Transfer(
            id="alloc-uif", debit_account_id="UIF:appropriation", credit_account_id="UIF:available", amount=7,
            ledger="UIF", code=lp.TRANSFER_CODE_ALLOCATION)]))
        assert reply.results[0].result_name == "ok"
        tb = await stub.GetTrialBalance(lp.GetTrialBalanceRequest())
        assert tb.balanced
        assert {a.account_id: a for a in tb.accounts}["UIF:available"].credits_posted == \
            lines["UIF:available"].credits_posted + 7

        day1, files = await _statement(stub, DAY1, DAY1)
        assert not files and day1.balanced and day1.transfer_count == 5
        assert day1.movements.appropriations == 100_000 and day1.movements.submitted == 30_000
        assert day1.movements.disbursed == 0  # settled at midnight: the next day's
        assert day1.closing.in_transit == 30_000 and day1.closing.commitments == 5_000
        assert day1.starts_at.ToDatetime(UTC) == datetime(2025, 5, 31, 16, 0, tzinfo=UTC)

        day2, _ = await _statement(stub, DAY2, DAY2)
        assert day2.balanced and day2.transfer_count == 2
        assert day2.opening.in_transit == 30_000 and day2.opening.commitments == 5_000
        assert day2.movements.disbursed == 30_000 and day2.movements.commitments_released == 5_000
        assert (day2.closing.in_transit, day2.closing.disbursed, day2.closing.commitments) == (0, 30_000, 0)

        both, files = await _statement(stub, DAY1, DAY2, lp.REPORT_FORMAT_CSV)
        assert both.balanced and both.transfer_count == 7 and both.opening.funds_held == 0
        assert both.closing.funds_held == 70_000
        name = "statement_STF_2025-06-01_2025-06-02"
        assert list(files) == [f"{name}_summary.csv", f"{name}_transfers.csv"]
        summary = {row[0]: row for row in csv.reader(io.StringIO(files[f"{name}_summary.csv"].decode("utf-8-sig")))}
        assert summary["movements.disbursed"][2:] == ["30000", "300.00"]
        rows = list(csv.reader(io.StringIO(files[f"{name}_transfers.csv"].decode("utf-8-sig"))))
        assert [r[5] for r in rows[1:]] == ["alloc-1", "commit-1", "commit-2", "post-1", "submit-1", "settle-1",
                                            "void-2"]
        assert [r[1] for r in rows[1:]] == ["2025-06-01"] * 5 + ["2025-06-02"] * 2  # F3: each with its day

        _, files = await _statement(stub, DAY1, DAY2, lp.REPORT_FORMAT_XLSX)
        workbook = load_workbook(io.BytesIO(files[f"{name}.xlsx"]), read_only=True)
        detail = list(workbook.worksheets[1].iter_rows(values_only=True))
        assert len(detail) == 8 and detail[6][5] == "settle-1" and detail[6][8] == 30_000

        chart = await stub.GetFundChart(lp.GetFundChartRequest(fund_code="STF", from_day=_pb_day(DAY1),
                                                               to_day=_pb_day(DAY2), format=lp.CHART_FORMAT_PNG))
        assert chart.data.startswith(b"\x89PNG") and chart.media_type == "image/png"
        assert [(d.disbursed, d.in_transit, d.released) for d in chart.days] == [(0, 30_000, 0), (30_000, 0, 5_000)]
    finally:
        await channel.close()


async def test_report_requests_name_every_bad_field_and_need_a_finance_or_admin_caller(ledger, signing_key):
    channel, stub = ledger_stub(ledger, signing_key)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await _statement(stub, DAY2, DAY1, fund="bad fund!")
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(bad.value)) == {"fund_code", "to_day"}
        with pytest.raises(grpc.aio.AioRpcError) as long_period:
            await stub.GetFundChart(lp.GetFundChartRequest(fund_code="STF", from_day=_pb_day(DAY1),
                                                           to_day=_pb_day(DAY1 + timedelta(days=400)), format=9))
        assert set(violations(long_period.value)) == {"to_day", "format"}
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetFundChart(lp.GetFundChartRequest(fund_code="STF", from_day=date_pb2.Date(year=2025, month=2,
                                                                                                   day=30)))
        assert set(violations(missing.value)) == {"from_day", "to_day"}
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await _statement(stub, DAY1, DAY1, fund="NOPE")
        assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
    finally:
        await channel.close()
    channel, stub = ledger_stub(ledger, signing_key, ActorKind.INSTITUTION)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.GetTrialBalance(lp.GetTrialBalanceRequest())
        assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await _statement(stub, DAY1, DAY1)
        assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
    finally:
        await channel.close()


def _statement_file(fmt: str) -> bytes:
    lines = [
        line(2, RECON_DAY, "po_doubt", 2_000, bank_ref="BK1"),
        line(3, RECON_DAY, "po_sub", 3_000, bank_ref="BK2"),
        line(4, RECON_DAY, "po_settled", 4_000, bank_ref="BK3"),
        line(5, RECON_DAY, "po_off", 2_001, bank_ref="BK4"),  # one fen more than the ledger paid
        line(6, RECON_DAY, "po_old", 5_000, cd=CRDT, reason="AC04", bank_ref="BK5"),  # returned
        line(7, RECON_DAY, "po_uif", 900, bank_ref="BK6"),  # another fund's (F2)
        line(8, RECON_DAY, "po_doubt", 2_000, bank_ref="BK7"),  # booked twice
        line(9, RECON_DAY, "po_failed", 1_500, bank_ref="BK8"),  # paid, though the ledger holds it failed
    ]
    return statement_bytes(fmt, RECON_DAY, lines)


def _upload(content: bytes, fmt, request_id: str, chunk: int = 100, day: date = RECON_DAY, fund: str = "ESF"):
    yield lp.ReconcileStatementRequest(request_id=request_id, fund_code=fund, day=_pb_day(day), format=fmt)
    for i in range(0, len(content), chunk):
        yield lp.ReconcileStatementRequest(chunk=content[i:i + chunk])


async def _payments(stub) -> dict[str, int]:
    return {p.payment_id: p.state for p in (await stub.ListPayments(lp.ListPaymentsRequest(page_size=100))).payments}


@pytest.mark.policy("F3", "C7", "X2")
@pytest.mark.parametrize("fmt", ["csv", "camt053"])
async def test_reconcile_an_uploaded_statement_with_every_category(ledger, signing_key, fmt):
    pb_format = {"csv": lp.STATEMENT_FORMAT_CSV, "camt053": lp.STATEMENT_FORMAT_CAMT053}[fmt]
    channel, stub = ledger_stub(ledger, signing_key)
    try:
        before = await _payments(stub)
        # Refused, and nothing changed: malformed, too large, bad header fields.
        with pytest.raises(grpc.aio.AioRpcError) as malformed:
            await stub.ReconcileStatement(_upload(b"not,a,statement\n1,2,3\n", pb_format, uuid.uuid4().hex))
        assert malformed.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as too_large:
            await stub.ReconcileStatement(_upload(b"x" * (MAX_UPLOAD + 1), pb_format, uuid.uuid4().hex,
                                                  chunk=16 * 1024))
        assert too_large.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert set(violations(too_large.value)) == {"chunk"}
        with pytest.raises(grpc.aio.AioRpcError) as bad_header:
            await stub.ReconcileStatement(_upload(_statement_file(fmt), 7, "r", fund="bad fund!"))
        assert set(violations(bad_header.value)) == {"fund_code", "format"}
        assert await _payments(stub) == before

        rid = uuid.uuid4().hex
        content = _statement_file(fmt)
        reply = await stub.ReconcileStatement(_upload(content, pb_format, rid))
        summary = {c.category: (c.count, c.ledger_amount_fen, c.statement_amount_fen) for c in reply.summary}
        assert summary["matched"] == (3, 9_000, 9_000)
        assert summary["amount_mismatch"] == (1, 2_000, 2_001)
        assert summary["returned"][0] == 1 and summary["duplicate"][0] == 1
        assert summary["in_ledger_not_statement"] == (1, 2_500, 0)
        assert summary["in_statement_not_ledger"] == (1, 0, 900)
        assert summary["paid_not_expected"][0] == 1
        assert sorted(reply.settled_payment_ids) == ["po_doubt", "po_sub"]
        assert list(reply.returned_payment_ids) == ["po_old"]
        assert reply.unexplained_count == 5 == len(reply.unexplained)
        off = next(i for i in reply.unexplained if i.category == "amount_mismatch")
        assert (off.payment_id, off.ledger_amount_fen, off.statement_amount_fen) == ("po_off", 2_000, 2_001)
        assert off.what_to_do_en and off.what_to_do_zh
        assert reply.report_csv.file_name == "reconciliation_ESF_2026-05-06.csv"
        rows = list(csv.reader(io.StringIO(reply.report_csv.data.decode("utf-8-sig"))))
        assert {r[9] for r in rows if r[0] == "item"} >= {"po_off", "po_missing", "po_uif", "po_failed"}
        assert reply.report_chart.data.startswith(b"\x89PNG")
        after = await _payments(stub)
        assert after["po_doubt"] == after["po_sub"] == lp.PAYMENT_STATE_SETTLED
        assert after["po_off"] == lp.PAYMENT_STATE_IN_DOUBT

        # The same request again: the first answer; the same file under a new id changes nothing more.
        again = await stub.ReconcileStatement(_upload(content, pb_format, rid, chunk=7))
        assert again == reply
        rerun = await stub.ReconcileStatement(_upload(content, pb_format, uuid.uuid4().hex))
        assert not rerun.settled_payment_ids and rerun.unexplained_count == 5
        assert await _payments(stub) == after
        with pytest.raises(grpc.aio.AioRpcError) as reused:  # the same id with another file
            await stub.ReconcileStatement(_upload(content + b"\n", pb_format, rid))
        assert reused.value.code() is grpc.StatusCode.ALREADY_EXISTS
    finally:
        await channel.close()


async def test_reconcile_from_bank_without_a_bank_is_unavailable_and_changes_nothing(ledger, signing_key):
    channel, stub = ledger_stub(ledger, signing_key)
    try:
        before = await _payments(stub)
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await stub.ReconcileFromBank(lp.ReconcileFromBankRequest(request_id="r1", fund_code="bad fund!"))
        assert set(violations(bad.value)) == {"fund_code", "day"}
        with pytest.raises(grpc.aio.AioRpcError) as down:
            await stub.ReconcileFromBank(lp.ReconcileFromBankRequest(request_id="r2", fund_code="ESF",
                                                                     day=_pb_day(RECON_DAY)))
        assert down.value.code() is grpc.StatusCode.UNAVAILABLE
        assert await _payments(stub) == before
    finally:
        await channel.close()


@pytest.mark.policy("F1", "F3", "C8")
async def test_cli_trial_balance_statement_and_reconcile(ledger, signing_key, tmp_path):
    run = functools.partial(asyncio.to_thread, ledger_cli, ledger, signing_key, tmp_path)
    balanced = await run("trial-balance")
    assert balanced.returncode == 0, balanced.stdout + balanced.stderr
    assert "STF" in balanced.stdout and "Every fund balances" in balanced.stdout

    out = tmp_path / "out" / "stf.xlsx"
    made = await run("statement", "--fund", "STF", "--from", "2025-06-01", "--to", "2025-06-02", "-o", str(out),
                     "--chart", str(tmp_path / "out" / "stf.svg"))
    assert made.returncode == 0, made.stdout + made.stderr
    assert load_workbook(out, read_only=True).sheetnames == ["汇总 Summary", "明细 Transfers"]
    assert (tmp_path / "out" / "stf.svg").read_bytes().lstrip().startswith(b"<?xml")
    as_csv = await run("statement", "--fund", "STF", "--from", "2025-06-01", "--to", "2025-06-02", "--format", "csv",
                       "-o", str(tmp_path / "out" / "stf.csv"))
    assert as_csv.returncode == 0, as_csv.stdout + as_csv.stderr
    assert (tmp_path / "out" / "stf_transfers.csv").read_text(encoding="utf-8-sig").count("settle-1") == 1
    refused = await run("statement", "--fund", "STF", "--from", "2025-06-02", "--to", "2025-06-01", "-o",
                        str(tmp_path / "x.xlsx"))
    assert refused.returncode == 2 and "INVALID_ARGUMENT" in refused.stdout

    statement = tmp_path / "statement.xml"
    statement.write_bytes(_statement_file("camt053"))
    report = tmp_path / "report"
    differences = await run("reconcile", "--fund", "ESF", "--day", "2026-05-06", "--file", str(statement),
                            "--format", "camt053", "--out", str(report))
    assert differences.returncode == 1, differences.stdout + differences.stderr[-3000:]
    assert "5 unexplained differences" in differences.stdout, differences.stderr[-2500:]
    assert (report / "reconciliation_ESF_2026-05-06.csv").exists()
    assert (report / "reconciliation_ESF_2026-05-06.png").read_bytes().startswith(b"\x89PNG")
    clean = tmp_path / "clean.csv"
    out_ = io.StringIO(newline="")
    write_csv([line(2, RECON_DAY, "po_settled", 4_000, bank_ref="BK3"),
               line(3, RECON_DAY, "po_doubt", 2_000, bank_ref="BK1"),
               line(4, RECON_DAY, "po_sub", 3_000, bank_ref="BK2"),
               line(5, RECON_DAY, "po_off", 2_000, bank_ref="BK4"),
               line(6, RECON_DAY, "po_missing", 2_500, bank_ref="BK9"),
               line(7, RECON_DAY, "po_old", 5_000, cd=CRDT, reason="AC04", bank_ref="BK5")], out_)
    clean.write_text(out_.getvalue())
    explained = await run("reconcile", "--fund", "ESF", "--day", "2026-05-06", "--file", str(clean), "--out",
                          str(report))
    assert explained.returncode == 0, explained.stdout + explained.stderr
    assert "No unexplained differences" in explained.stdout
    from_bank = await run("reconcile", "--fund", "ESF", "--day", "2026-05-06", "--from-bank", "--out", str(report))
    assert from_bank.returncode == 2 and "UNAVAILABLE" in from_bank.stdout
